//! jiandu-server: the central platform of Jiandu (监督).
//!
//! The bureau's side of the 双随机、一公开 cycle: people and devices, the registry of
//! institutions and the staff directory, the double-random draw, review, reports
//! and sync with the inspectors' tablets. Three layers, each calling only the one
//! below it (docs/SERVER.md):
//!
//! ```text
//!   http (API + OpenAPI document)      cli (jiandu-server …)        adapters: parse,
//!                 \                       /                          call, render
//!                  ▼                     ▼
//!                        service                                    every rule and
//!            (explicit Actor and time, one ServiceError)            every message, once
//!                           │
//!                           ▼
//!            store (SQLite | PostgreSQL)     blobs (folder)         storage only
//! ```
//!
//! - [`http`] and [`cli`]: adapters. A handler or a command parses its input, calls
//!   one [`service`] function and renders the answer (JSON, a file, text).
//! - [`service`]: the rules, by area, with Chinese messages and a closed
//!   [`error::ErrorCode`]; no HTTP status, no ambient state.
//! - [`store`]: the [`store::ServerStore`] trait by area and its SQLite and
//!   PostgreSQL implementations; [`blobs`]: the photo folder. No rule, no message.
//! - Shared vocabulary: [`model`] (the records), [`error`], [`audit`] (the hash
//!   chain's format), [`auth`] (password hashes, tokens), [`credit_code`],
//!   [`formats`] (汇总表 as CSV / XLSX), [`settings`]; [`demo`] fills a database
//!   with demonstration data through the same layers.

pub mod audit;
pub mod auth;
pub mod blobs;
pub mod cli;
pub mod credit_code;
pub mod demo;
pub mod error;
pub mod formats;
pub mod http;
pub mod metrics;
pub mod model;
pub mod service;
pub mod settings;
pub mod store;
