// One `ferry loadtest` run from a checked plan to the printed report:
//
//   descriptor limit ─► payload and its SHA-256 ─► daemon (spawned, or --server and --daemon-pid) ─► client
//   configuration ─► LoadRunner on a fresh event loop ─► daemon stopped, directory removed ─► table or JSON
//
// Returns the exit status (0: no error, 1: errors); usage problems found on the way (unreadable --cert, a short
// descriptor limit, no such --daemon-pid) throw exit 2.
import ArgumentParser
import EventLoop
import Foundation
import Protocol

struct LoadRun {
    let plan: LoadTestPlan

    func execute() throws -> Int32 {
        let startedAt = EventLoop.hrtimeNanoseconds
        let diagnostics = Diagnostics(quiet: plan.json)
        do {
            try DescriptorLimit.raise(needed: plan.descriptorsNeeded)
        } catch {
            throw LoadTestCommand.usageFailure(error.description)
        }
        if case .server(_, _, _, let pid?) = plan.target, !ProcessStats.exists(pid: pid) {
            throw LoadTestCommand.usageFailure("--daemon-pid \(pid): no such process")
        }


        var spawned: SpawnedDaemon?
        let host: String, port: UInt16, credentials: LoadTestPlan.Credentials, daemonPID: Int32?
        switch plan.target {
        case .spawn(let options):
            let executable: String
            do { executable = try SpawnedDaemon.ferrydPath(options.ferryd) } catch {
                throw LoadTestCommand.usageFailure(error.description)
            }
            do {
                spawned = try SpawnedDaemon.start(executable: executable, options: options, sessions: plan.sessions, idleSessions: plan.idleSessions,
                                                  diagnostics: diagnostics)
            } catch {
                Diagnostics.fatal("ferry loadtest: \(error)")
                throw ExitCode(1)
            }
            (host, port, credentials, daemonPID) = ("127.0.0.1", spawned!.port, spawned!.credentials, spawned!.pid)
        case .server(let givenHost, let givenPort, let given, let pid):
            (host, port, credentials, daemonPID) = (givenHost, givenPort, given, pid)
        }
        let payload = Payload(size: plan.size)
        let runID = Self.makeRunID()
        let serverText = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"

        let report: LoadReport
        do {
            defer { if let problem = spawned?.stop() { Diagnostics.fatal("ferry loadtest: \(problem)") } }
            let configuration: ClientConfiguration
            do {
                configuration = try makeConfiguration(credentials, host: host)
            } catch {
                throw LoadTestCommand.usageFailure(error.message)
            }
            let target = LoadTarget(host: LoopbackHost.connectAddress(host), port: port, configuration: configuration,
                                    payload: payload, runID: runID, timeoutNanoseconds: UInt64(plan.timeout * 1e9),
                                    mix: plan.mix, seed: plan.seed, getFiles: plan.mix == nil ? 0 : plan.getFiles)
            let loop: EventLoop
            do { loop = try EventLoop() } catch {
                Diagnostics.fatal("ferry loadtest: \(error)")
                throw ExitCode(1)
            }
            let sampler = daemonPID.map(DaemonSampler.init(pid:))
            let runner = LoadRunner(loop: loop, plan: plan, target: target, sampler: sampler, diagnostics: diagnostics,
                                    deadline: startedAt &+ UInt64(plan.maxSeconds * 1e9))
            runner.run()
            loop.close()
            report = LoadReport(config: reportConfig(server: serverText), runner: runner, sampler: sampler)
        }
        print(plan.json ? report.json() : ReportTable.render(report))
        return report.exitStatus
    }

    func reportConfig(server: String) -> LoadReport.Config {
        LoadReport.Config(server: server, spawned: plan.isSpawned, sessions: plan.sessions,
                          filesPerSession: plan.filesPerSession, sizeBytes: plan.size, rate: plan.rate,
                          durationSeconds: plan.duration, idleSessions: plan.idleSessions, group: plan.group?.name,
                          cipher: plan.cipher?.name,
                          mix: plan.mix.map { .init(mix: $0, seed: plan.seed, getFiles: $0.weight(.get) > 0 ? plan.getFiles : nil) })
    }

    /// The identity, trust and algorithm offer every session uses (as `ferry upload` builds it).
    func makeConfiguration(_ credentials: LoadTestPlan.Credentials, host: String) throws(LoadTestUsageError) -> ClientConfiguration {
        var configuration: ClientConfiguration
        do throws(CredentialError) {
            configuration = try CredentialFiles(ca: credentials.ca, certificate: credentials.certificate, key: credentials.key)
                .configuration(serverName: credentials.serverName ?? host)
        } catch {
            throw LoadTestUsageError(error.description)
        }
        if let group = plan.group { configuration.preferences.groups = [group] }
        if let cipher = plan.cipher { configuration.preferences.cipherSuites = [cipher] }
        configuration.rotation = RotationPolicy(afterBytes: plan.rotateAfterBytes)
        return configuration
    }

    /// "20250101-120000-4242-a1b2": time, pid and a random part, so neither repeated nor concurrent runs collide.
    static func makeRunID() -> String {
        var now = time(nil)
        var fields = tm()
        gmtime_r(&now, &fields)
        let stamp = String(format: "%04d%02d%02d-%02d%02d%02d", Int(fields.tm_year) + 1900, Int(fields.tm_mon) + 1,
                           Int(fields.tm_mday), Int(fields.tm_hour), Int(fields.tm_min), Int(fields.tm_sec))
        return "\(stamp)-\(getpid())-" + String(format: "%04x", UInt16.random(in: 0...UInt16.max))
    }
}
