//! jiandu-server: the central platform of Jiandu (监督).
//!
//! The bureau's side of the 双随机、一公开 cycle: people and devices ([`auth`]), the
//! registry of institutions and the staff directory ([`registry`]), the double-random
//! draw ([`draws`], arithmetic in `jiandu_core::draw`), review and reports, served
//! over HTTP ([`http`]) and administered from the command line ([`cli`]). Storage sits
//! behind [`store::ServerStore`], on SQLite by default and PostgreSQL for scale.

#![recursion_limit = "512"]

pub mod audit;
pub mod auth;
pub mod cli;
pub mod credit_code;
pub mod demo;
pub mod documents;
pub mod draws;
pub mod error;
pub mod http;
pub mod openapi;
pub mod plans;
pub mod registry;
pub mod reports;
pub mod settings;
pub mod store;
pub mod sync_api;
