//! jiandu-store (being built).
