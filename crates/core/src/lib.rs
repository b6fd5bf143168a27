//! Jiandu (监督) domain core.
//!
//! Everything the device and the central platform must agree on lives here, once:
//! the plans derived from the seed documents ([`plan`]), institution categories
//! ([`category`]), inspections with their findings, outcomes and review state machine
//! ([`inspection`]), money ([`money`]) and the summary-table arithmetic ([`summary`]).
//!
//! This crate does no I/O: no files, no database, no network, no clock. Time and ids
//! are passed in by the caller so that tests are exact. Built-in plan templates are
//! compiled in with `include_str!`, so a tablet with no signal still has them.

pub mod category;
pub mod draw;
pub mod inspection;
pub mod money;
pub mod plan;
pub mod protocol;
pub mod summary;
pub mod templates;

pub use category::{Category, CategoryCode, CategoryKind, Service};
pub use inspection::{
    Actor, Finding, Inspection, InspectionStatus, Outcome, Penalty, PublicCategory, Role,
    RuleViolation, Signature, SignatureRole, Verdict,
};
pub use money::Fen;
pub use plan::{Plan, TemplateError};
pub use summary::{SummaryReport, UnitResult};
