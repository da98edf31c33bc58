import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Properties;

/** Authentication matrix with pgjdbc: SCRAM over TLS with verify-full,
 *  wrong passwords, an expired role, a client certificate and a
 *  connection without TLS that the rules reject. */
public class AuthMatrix {
    static String url, ca, cert, key;

    static void attempt(String name, String db, String user, String password, String sslmode, boolean withCert) {
        Properties p = new Properties();
        p.setProperty("user", user);
        if (password != null) p.setProperty("password", password);
        p.setProperty("sslmode", sslmode);
        p.setProperty("sslrootcert", ca);
        if (withCert) {
            p.setProperty("sslcert", cert);
            p.setProperty("sslkey", key);
        }
        p.setProperty("connectTimeout", "10");
        try (Connection c = DriverManager.getConnection(url + db, p);
             ResultSet rs = c.createStatement().executeQuery("SELECT current_user")) {
            rs.next();
            System.out.println(name + ": ok " + rs.getString(1));
        } catch (SQLException e) {
            System.out.println(name + ": refused " + e.getSQLState() + " " + e.getMessage().split("\n")[0]);
        }
    }

    public static void main(String[] args) {
        url = args[0];
        ca = args[1];
        cert = args[2];
        key = args[3];
        attempt("scram", "streamsql", "alice", "wonder", "verify-full", false);
        attempt("wrong-password", "streamsql", "alice", "wonderland", "verify-full", false);
        attempt("expired", "streamsql", "old", "pass", "verify-full", false);
        attempt("cert", "certdb", "certuser", null, "verify-full", true);
        attempt("cert-other-user", "certdb", "alice", null, "verify-full", true);
        attempt("no-tls", "streamsql", "alice", "wonder", "disable", false);
    }
}
