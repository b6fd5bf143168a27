//! The SQLite store's schema migrations (migrations/server-sqlite), embedded.

/// Embedded migrations: (version, SQL), applied in order.
pub(super) const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../../../migrations/server-sqlite/0001_init.sql"),
    ),
    (
        2,
        include_str!("../../../../../migrations/server-sqlite/0002_sync.sql"),
    ),
    (
        3,
        include_str!("../../../../../migrations/server-sqlite/0003_audit.sql"),
    ),
    (
        4,
        include_str!("../../../../../migrations/server-sqlite/0004_inspection_results.sql"),
    ),
    (
        5,
        include_str!("../../../../../migrations/server-sqlite/0005_plans.sql"),
    ),
    (
        6,
        include_str!("../../../../../migrations/server-sqlite/0006_console_sessions.sql"),
    ),
    (
        7,
        include_str!("../../../../../migrations/server-sqlite/0007_draw_fidelity.sql"),
    ),
    (
        8,
        include_str!("../../../../../migrations/server-sqlite/0008_device_revocation.sql"),
    ),
    (
        9,
        include_str!("../../../../../migrations/server-sqlite/0009_sign_in_failures.sql"),
    ),
];
