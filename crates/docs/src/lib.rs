//! jiandu-docs: the official documents of an inspection as PDF, made on the tablet
//! (printed on site, offline) and on the platform (archive copies) by the same code.
//!
//! - [`render_opinion`]: 卫生监督意见书 ([`OpinionDoc`]);
//! - [`render_record`]: 现场笔录 ([`RecordDoc`]);
//! - [`render_evidence`]: 证据照片 ([`EvidenceDoc`]).
//!
//! Each input is a plain struct built from core types (`Task`, `Inspection`, …; see the
//! `from_inspection` constructors) plus the bytes of signature PNGs and photo files,
//! so the device and the server render identical documents from their own storage.
//! The same input gives byte-identical output (the creation date is an input).
//!
//! Layers, from the bottom: [`font`] (the embedded Noto Serif SC and glyph coverage),
//! [`layout`] (line breaking with 避头尾, justification), [`compose`] (pages, fields,
//! tables with repeated headers, furniture), [`pdf`] (printpdf, subset font, JPEG
//! passthrough). A new document type is only its content: a function calling
//! [`compose::Composer`].

pub mod archive;
pub mod common;
pub mod compose;
pub mod error;
pub mod evidence;
pub mod font;
pub mod image;
pub mod layout;
pub mod number;
pub mod opinion;
pub mod pdf;
pub mod record;
pub mod sample;

pub use common::{InspectorSign, PartyConfirmation, PartySign};
pub use error::DocError;
pub use evidence::{EvidenceDoc, PHOTO_PLACEHOLDER, PhotoDoc, PhotosPerPage, render_evidence};
pub use font::{EMBEDDED_FONT_LICENCE, MISSING_GLYPH};
pub use image::PhotoPolicy;
pub use number::DocumentNumber;
pub use opinion::{
    OPINION_FOOTNOTE, OpinionDoc, SEPARATE_CASE_TEXT, opinion_paragraphs, render_opinion,
};
pub use record::{Observation, RecordDoc, number_photos, render_record};
