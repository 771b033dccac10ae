// client.toml's loader for the fuzz target FuzzClientSettings (docs/FUZZING.md): ClientSettings and its parse stay
// internal, and the fuzz executable, built in release too, cannot reach them through @testable.

package enum ClientSettingsFuzzing {
    /// Parses `text` as ~/.config/ferry/client.toml of a user whose home is /home/fuzz: nil when it loads, else the
    /// error's message.
    package static func parse(_ text: String) -> String? {
        let context = ClientSettings.LoadContext(source: "/home/fuzz/.config/ferry/client.toml",
                                                 directory: "/home/fuzz/.config/ferry", home: "/home/fuzz")
        do {
            _ = try ClientSettings.parse(text, context: context)
            return nil
        } catch {
            return error.description
        }
    }
}
