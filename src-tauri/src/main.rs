//! Desktop entry point; tablets enter through `run` in lib.rs.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    jiandu_inspector_lib::run();
}
