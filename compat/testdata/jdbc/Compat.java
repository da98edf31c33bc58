// Compat drives StreamSQL through pgjdbc: DatabaseMetaData calls and a
// PreparedStatement round trip of every supported type. It prints what it
// saw and exits non-zero on the first mismatch; compat/jdbc_test.go runs it.
import java.math.BigDecimal;
import java.sql.*;
import java.time.*;
import java.util.*;

public class Compat {
    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    static List<String> rows(ResultSet rs, String... cols) throws SQLException {
        List<String> out = new ArrayList<>();
        try (rs) {
            while (rs.next()) {
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < cols.length; i++) {
                    if (i > 0) sb.append(':');
                    sb.append(rs.getString(cols[i]));
                }
                out.add(sb.toString());
            }
        }
        return out;
    }

    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0])) {
            DatabaseMetaData md = c.getMetaData();
            System.out.println("product " + md.getDatabaseProductName() + " " + md.getDatabaseProductVersion());

            List<String> schemas = rows(md.getSchemas(), "TABLE_SCHEM");
            System.out.println("schemas " + schemas);
            check(schemas.contains("public") && schemas.contains("risk"), "getSchemas lacks public or risk");

            List<String> tables = rows(md.getTables(null, "public", "%", null), "TABLE_NAME", "TABLE_TYPE");
            System.out.println("tables " + tables);
            check(tables.contains("trades:TABLE"), "getTables lacks trades");
            check(tables.contains("big:VIEW"), "getTables lacks view big");
            check(tables.contains("per_sym:MATERIALIZED VIEW"), "getTables lacks materialized view per_sym");

            List<String> cols = rows(md.getColumns(null, "public", "trades", "%"), "COLUMN_NAME", "TYPE_NAME", "DATA_TYPE", "NULLABLE", "ORDINAL_POSITION");
            System.out.println("columns " + cols);
            check(cols.equals(List.of("id:int8:-5:0:1", "sym:text:12:0:2", "px:float8:8:1:3", "ts:timestamptz:93:1:4")), "getColumns of trades");

            List<String> pk = rows(md.getPrimaryKeys(null, "public", "trades"), "COLUMN_NAME", "KEY_SEQ", "PK_NAME");
            System.out.println("primary keys " + pk);
            check(pk.equals(List.of("id:1:trades_pkey")), "getPrimaryKeys of trades");

            roundTrip(c);
            System.out.println("ok");
        }
    }

    // roundTrip inserts one row of every type through a PreparedStatement
    // and reads it back, with the values as parameters of the query too.
    static void roundTrip(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("CREATE TABLE alltypes (id int PRIMARY KEY, b boolean, i2 smallint, i4 integer, i8 bigint,"
                    + " f4 real, f8 double precision, n numeric(12,3), t text, vc varchar(20), by bytea,"
                    + " d date, tm time, ts timestamp, tz timestamptz, iv interval, j jsonb)");
        }
        LocalDate d = LocalDate.of(2024, 2, 29);
        LocalTime tm = LocalTime.of(13, 14, 15, 123456000);
        LocalDateTime ts = LocalDateTime.of(2024, 5, 6, 7, 8, 9, 500000000);
        OffsetDateTime tz = OffsetDateTime.of(2024, 5, 6, 7, 8, 9, 0, ZoneOffset.ofHours(2));
        byte[] bytes = {0, 1, (byte) 0xfe, (byte) 0xff};
        String sql = "INSERT INTO alltypes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::interval, ?::jsonb)";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int id = 1; id <= 2; id++) {
                ps.setInt(1, id);
                ps.setBoolean(2, true);
                ps.setShort(3, (short) -7);
                ps.setInt(4, 2000000000);
                ps.setLong(5, 9000000000000000000L);
                ps.setFloat(6, 1.5f);
                ps.setDouble(7, -2.25);
                ps.setBigDecimal(8, new BigDecimal("12345.678"));
                ps.setString(9, "héllo 'q'");
                ps.setString(10, "vc");
                ps.setBytes(11, bytes);
                ps.setObject(12, d);
                ps.setObject(13, tm);
                ps.setObject(14, ts);
                ps.setObject(15, tz);
                ps.setString(16, "1 day 02:03:04");
                ps.setString(17, "{\"a\": [1, 2]}");
                check(ps.executeUpdate() == 1, "insert count");
            }
        }
        // Parameters in the WHERE clause, typed by their columns.
        String q = "SELECT * FROM alltypes WHERE b = ? AND i2 = ? AND i8 = ? AND n = ? AND t = ? AND d = ? AND tz = ? ORDER BY id";
        try (PreparedStatement ps = c.prepareStatement(q)) {
            // The fifth execution switches pgjdbc to a named server-side statement.
            for (int run = 0; run < 6; run++) {
                ps.setBoolean(1, true);
                ps.setShort(2, (short) -7);
                ps.setLong(3, 9000000000000000000L);
                ps.setBigDecimal(4, new BigDecimal("12345.678"));
                ps.setString(5, "héllo 'q'");
                ps.setObject(6, d);
                ps.setObject(7, tz);
                int n = 0;
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        n++;
                        check(rs.getInt("id") == n, "id");
                        check(rs.getBoolean("b"), "boolean");
                        check(rs.getShort("i2") == -7, "smallint");
                        check(rs.getInt("i4") == 2000000000, "integer");
                        check(rs.getLong("i8") == 9000000000000000000L, "bigint");
                        check(rs.getFloat("f4") == 1.5f, "real");
                        check(rs.getDouble("f8") == -2.25, "double");
                        check(rs.getBigDecimal("n").compareTo(new BigDecimal("12345.678")) == 0, "numeric " + rs.getBigDecimal("n"));
                        check(rs.getString("t").equals("héllo 'q'"), "text " + rs.getString("t"));
                        check(rs.getString("vc").equals("vc"), "varchar");
                        check(Arrays.equals(rs.getBytes("by"), bytes), "bytea " + Arrays.toString(rs.getBytes("by")));
                        check(rs.getObject("d", LocalDate.class).equals(d), "date " + rs.getString("d"));
                        check(rs.getObject("tm", LocalTime.class).equals(tm), "time " + rs.getString("tm"));
                        check(rs.getObject("ts", LocalDateTime.class).equals(ts), "timestamp " + rs.getString("ts"));
                        check(rs.getObject("tz", OffsetDateTime.class).toInstant().equals(tz.toInstant()), "timestamptz " + rs.getString("tz"));
                        check(rs.getString("iv").equals("1 day 02:03:04"), "interval " + rs.getString("iv"));
                        check(rs.getString("j").equals("{\"a\": [1, 2]}"), "jsonb " + rs.getString("j"));
                    }
                }
                check(n == 2, "rows read back on run " + run + ": " + n);
            }
        }
        System.out.println("prepared round trip of 16 types");
    }
}
