// The configuration targets (FuzzDaemonConfig, FuzzClientSettings): ferryd.toml's and client.toml's loaders on
// arbitrary text. Both loaders refuse a file that is not UTF-8 before they parse it, so only UTF-8 reaches the parse.
//
// Oracle, for ferryd.toml: a file that loads has an effective configuration (`ferryd check-config`'s output) that loads
// back to the same configuration, as ConfigRender.swift promises: every value the loader accepts renders as TOML the
// loader reads the same way (quoting, escapes, paths, byte sizes, lists).
import FerrydConfig
import FerryClient

public enum DaemonConfigFuzzer {
    public static func run(_ data: [UInt8]) {
        guard let text = String(validating: data, as: UTF8.self) else { return }
        // Half the inputs as under systemd's LoadCredential= (bare key file names are looked up there).
        let environment = data.count % 2 == 0 ? [:] : ["CREDENTIALS_DIRECTORY": "/run/credentials/ferryd.service"]
        let config: DaemonConfig
        do {
            config = try DaemonConfig.parseForFuzzing(text, environment: environment)
        } catch {
            _ = error.description  // the message an operator reads: it must build for any input
            return
        }
        let rendered = config.renderEffective()
        let again: DaemonConfig
        do {
            again = try DaemonConfig.parseForFuzzing(rendered, environment: environment)
        } catch {
            fatalError("the effective configuration of a file that loads does not load: \(error)\n\(rendered)")
        }
        if again != config {
            fatalError("the effective configuration loads as another configuration:\n\(rendered)\n\(again.renderEffective())")
        }
    }
}

public enum ClientSettingsFuzzer {
    public static func run(_ data: [UInt8]) {
        guard let text = String(validating: data, as: UTF8.self) else { return }
        _ = ClientSettingsFuzzing.parse(text)
    }
}
