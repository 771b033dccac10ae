// Refuses a listen address another process already holds (issue #16 point 7). ferryd's workers bind their addresses
// with SO_REUSEPORT so that the kernel spreads connections over them, and that option would also let a second ferryd
// of the same user bind the same port without an error and take part of the traffic (it need not share the first
// one's storage root, whose lock would stop it). So before any worker binds, each address is probed once without
// SO_REUSEPORT (Platform/ListenProbe.swift, where the remaining race is described): a holder of any kind, ferryd or
// not, with SO_REUSEPORT or without, makes the start fail with a message naming the address.
import FerrydConfig
import ArgumentParser
import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

enum ListenCheck {
    /// Throws a ValidationError naming the first address (as written in server.listen) that cannot be taken.
    static func ensureAvailable(_ addresses: [ListenAddress]) throws {
        for address in addresses {
            for host in address.bindHosts {
                do { try ListenProbe.probe(host: host, port: address.port) } catch {
                    let shown = host.contains(":") ? "[\(host)]:\(address.port)" : "\(host):\(address.port)"
                    guard error.number == EADDRINUSE else {
                        throw ValidationError("server.listen: cannot bind \(shown): \(error)")
                    }
                    throw ValidationError("server.listen: \(shown) is already in use (EADDRINUSE): another process "
                        + "listens there (another ferryd, or another service; `ss -ltnp 'sport = :\(address.port)'` shows "
                        + "which). Stop it, or choose another port in server.listen. Only this ferryd's own workers "
                        + "share an address")
                }
            }
        }
    }
}
