// [quotas]: each namespace's limits, the defaults or its override (docs/STORE.md "Quotas"); the store checks them
// when an upload is prepared (Store/UploadJobs+Quota.swift).
import FerrydConfig
import Store

struct QuotaPolicy: Sendable {
    private let defaults: StoreQuota
    private let overrides: [String: QuotaOverride]

    init(_ section: DaemonConfig.QuotasSection = DaemonConfig.QuotasSection()) {
        defaults = StoreQuota(bytes: section.bytes > 0 ? section.bytes : nil,
                              files: section.files > 0 ? UInt64(section.files) : nil)
        overrides = section.parsedOverrides
    }

    /// The limits of `namespace`; nil when it has none.
    func quota(for namespace: String) -> StoreQuota? {
        var quota = defaults
        if let override = overrides[namespace] {
            if let bytes = override.bytes { quota.bytes = bytes > 0 ? bytes : nil }
            if let files = override.files { quota.files = files > 0 ? files : nil }
        }
        return quota.bytes == nil && quota.files == nil ? nil : quota
    }
}
