// The client's main settings from the environment, between the command line and client.toml in precedence (flag >
// environment > file > default), as curl, rclone and the AWS tools do: a script or container sets FERRY_SERVER once
// instead of repeating --server or writing a file.
//
//   FERRY_CONFIG        the client configuration file (--config)
//   FERRY_SERVER        HOST[:PORT] (--server)
//   FERRY_SERVER_NAME   the name the server's certificate must carry (--server-name)
//   FERRY_CA            the CA bundle (--ca)
//   FERRY_CERT          this client's certificate chain (--cert)
//   FERRY_KEY           this client's private key (--key)
//   FERRY_PARALLEL      sessions at once (--parallel)
//   FERRY_KEY_PASSPHRASE  the key's passphrase itself (PrivateKeyFile)
//
// An empty variable counts as unset (`FERRY_SERVER= ferry upload …` is how a shell unsets one for a command).
import ArgumentParser

struct ClientEnvironment {
    let config: String?
    let server: String?
    let serverName: String?
    let ca: String?
    let certificate: String?
    let key: String?
    let parallel: Int?

    init(_ environment: [String: String]) throws {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        config = value("FERRY_CONFIG")
        server = value("FERRY_SERVER")
        serverName = value("FERRY_SERVER_NAME")
        ca = value("FERRY_CA")
        certificate = value("FERRY_CERT")
        key = value("FERRY_KEY")
        if let text = value("FERRY_PARALLEL") {
            guard let number = Int(text) else {
                throw ValidationError("FERRY_PARALLEL=\(text) is not a number (1-64)")
            }
            parallel = number
        } else {
            parallel = nil
        }
    }
}
