//! jiandu-server (being built).
