// Cursors drives StreamSQL's cursors through pgjdbc: setFetchSize in a
// transaction (a portal executed with a row limit, suspended and resumed),
// and DECLARE ... CURSOR FOR SUBSCRIBE with FETCH while another
// connection changes the table. compat/cursors_test.go runs it.
import java.sql.*;
import java.util.*;

public class Cursors {
    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    static List<String> fetch(Statement st, String sql) throws SQLException {
        List<String> out = new ArrayList<>();
        try (ResultSet rs = st.executeQuery(sql)) {
            int n = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                StringBuilder sb = new StringBuilder();
                for (int i = 2; i <= n; i++) {
                    if (i > 2) sb.append(':');
                    sb.append(rs.getString(i));
                }
                out.add(sb.toString());
            }
        }
        return out;
    }

    public static void main(String[] args) throws Exception {
        try (Connection w = DriverManager.getConnection(args[0]);
             Connection c = DriverManager.getConnection(args[0])) {
            try (Statement st = w.createStatement()) {
                st.execute("CREATE TABLE jnums (n int PRIMARY KEY, v text)");
                st.execute("INSERT INTO jnums SELECT g, 'v' || g FROM generate_series(1, 1000) AS g");
                st.execute("CREATE MATERIALIZED VIEW jbig AS SELECT n, v FROM jnums WHERE n > 995");
            }

            // setFetchSize: pgjdbc sends Execute with a row limit of 7 and
            // goes on with further Executes of the suspended portal.
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("SELECT n FROM jnums ORDER BY n")) {
                ps.setFetchSize(7);
                long sum = 0;
                int rows = 0;
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows++;
                        sum += rs.getInt(1);
                        check(rs.getInt(1) == rows, "row " + rows + " is " + rs.getInt(1));
                    }
                }
                System.out.println("fetch size 7: " + rows + " rows, sum " + sum);
                check(rows == 1000 && sum == 500500, "rows through a suspended portal");
            }
            c.commit();

            try (Statement st = c.createStatement()) {
                st.execute("DECLARE s CURSOR FOR SUBSCRIBE jbig");
                List<String> snap = fetch(st, "FETCH ALL s WITH (timeout = '5s')");
                Collections.sort(snap);
                System.out.println("snapshot " + snap);
                check(snap.equals(List.of("1:1000:v1000", "1:996:v996", "1:997:v997", "1:998:v998", "1:999:v999")), "snapshot");
                try (Statement ws = w.createStatement()) {
                    ws.execute("UPDATE jnums SET v = 'changed' WHERE n = 999");
                    ws.execute("DELETE FROM jnums WHERE n = 1000");
                }
                List<String> changes = new ArrayList<>();
                while (changes.size() < 3) {
                    changes.addAll(fetch(st, "FETCH 10 s WITH (timeout = '5s')"));
                }
                Collections.sort(changes);
                System.out.println("changes " + changes);
                check(changes.equals(List.of("-1:1000:v1000", "-1:999:v999", "1:999:changed")), "changes");
            }
            c.rollback();
            System.out.println("ok");
        }
    }
}
