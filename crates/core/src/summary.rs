//! Summary-table arithmetic (placeholder module, filled in below).
