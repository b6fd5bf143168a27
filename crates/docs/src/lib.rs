//! jiandu-docs (being built).
