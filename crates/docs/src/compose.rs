//! Page composition: flows text, fields, tables and keep-together blocks down A4
//! pages, then adds per-page furniture (footers with "第 x 页 共 y 页", signatures)
//! once the page count is known.
//!
//! Coordinates here are in points from the page's TOP-left corner (y grows down), as
//! a reader of a form thinks; [`crate::pdf`] flips them for PDF. Nothing here knows
//! about any particular document: a document type is a function that calls these
//! methods in order (see `opinion.rs`, `record.rs`, `evidence.rs`).
//!
//! What must stay true:
//! - nothing is drawn below [`Composer::bottom`] by flowing content: the furniture
//!   area is reserved on every page;
//! - a paragraph or table row that does not fit continues on the next page, line by
//!   line; a table's header row is repeated on every page it spans;
//! - a keep-together block moves whole to the next page when it does not fit.

use crate::font::{FontFace, Metrics};
use crate::image::PreparedImage;
use crate::layout::{Line, break_text, ellipsize};

/// A4 in points (210 × 297 mm).
pub const A4_WIDTH: f32 = 595.276;
pub const A4_HEIGHT: f32 = 841.89;

/// Millimetres to points.
pub fn mm(v: f32) -> f32 {
    v * 72.0 / 25.4
}

/// How a run of text looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Style {
    /// Font size, pt.
    pub size: f32,
    /// Synthesised bold (fill + stroke): only one weight of the font ships.
    pub bold: bool,
    /// Line height as a multiple of `size`.
    pub leading: f32,
}

impl Style {
    pub const fn new(size: f32) -> Style {
        Style {
            size,
            bold: false,
            leading: 1.6,
        }
    }
    pub const fn bold(self) -> Style {
        Style { bold: true, ..self }
    }
    pub const fn leading(self, leading: f32) -> Style {
        Style { leading, ..self }
    }
    /// Height of one line, pt.
    pub fn line_height(&self) -> f32 {
        self.size * self.leading
    }
}

/// A handle to an image registered with [`Composer::add_image`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageRef(pub usize);

/// One drawing primitive, in top-down page coordinates.
#[derive(Debug, Clone, PartialEq)]
pub enum Draw {
    /// Text on one baseline. `char_spacing` is added after every character.
    Text {
        x: f32,
        baseline: f32,
        style: Style,
        char_spacing: f32,
        text: String,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        width: f32,
        dashed: bool,
    },
    /// An image scaled to the box (the caller keeps the aspect ratio).
    Image {
        image: ImageRef,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
}

/// One page's drawing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub draws: Vec<Draw>,
}

/// Horizontal alignment of a table column or a single line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// A table column: header text, width as a share of the table width.
#[derive(Debug, Clone)]
pub struct Column {
    pub header: String,
    pub share: f32,
    pub align: Align,
}

/// Draws on one page with the document's font; used by flowing content, by
/// keep-together blocks and by page furniture.
#[derive(Debug)]
pub struct Canvas<'a> {
    pub font: &'a FontFace,
    pub draws: &'a mut Vec<Draw>,
}

impl Canvas<'_> {
    /// Baseline of a line whose box starts at `top`: the glyphs' ideographic body
    /// (≈ −0.12…0.88 em) sits centred in the line box.
    pub fn baseline(top: f32, style: &Style) -> f32 {
        top + (style.line_height() - style.size) / 2.0 + 0.88 * style.size
    }

    /// One line of (already sanitized or plain) text with its box top at `top`.
    pub fn text(&mut self, x: f32, top: f32, style: Style, text: &str) {
        let text = self.font.sanitize(text).replace('\n', " ");
        if text.is_empty() {
            return;
        }
        self.draws.push(Draw::Text {
            x,
            baseline: Canvas::baseline(top, &style),
            style,
            char_spacing: 0.0,
            text,
        });
    }

    /// One line aligned within `[x, x + width]`, cut with "…" if it does not fit.
    pub fn text_aligned(
        &mut self,
        x: f32,
        width: f32,
        top: f32,
        style: Style,
        align: Align,
        text: &str,
    ) {
        let text = self.font.sanitize(text).replace('\n', " ");
        let text = ellipsize(self.font, &text, style.size, width);
        let w = self.font.width(&text, style.size);
        let x = match align {
            Align::Left => x,
            Align::Center => x + (width - w) / 2.0,
            Align::Right => x + width - w,
        };
        self.text(x, top, style, &text);
    }

    /// Wrapped text in a column of `width` starting at `top`; returns the height used.
    pub fn wrapped(&mut self, x: f32, top: f32, width: f32, style: Style, text: &str) -> f32 {
        let text = self.font.sanitize(text);
        let lines = break_text(self.font, &text, style.size, width, 0.0);
        for (i, line) in lines.iter().enumerate() {
            self.line_of_text(x, top + i as f32 * style.line_height(), style, line);
        }
        lines.len() as f32 * style.line_height()
    }

    /// Places one laid-out line.
    pub fn line_of_text(&mut self, x: f32, top: f32, style: Style, line: &Line) {
        if line.text.is_empty() {
            return;
        }
        self.draws.push(Draw::Text {
            x: x + line.indent,
            baseline: Canvas::baseline(top, &style),
            style,
            char_spacing: line.char_spacing,
            text: line.text.clone(),
        });
    }

    pub fn hline(&mut self, x1: f32, x2: f32, y: f32, width: f32) {
        self.draws.push(Draw::Line {
            x1,
            y1: y,
            x2,
            y2: y,
            width,
        });
    }

    pub fn vline(&mut self, x: f32, y1: f32, y2: f32, width: f32) {
        self.draws.push(Draw::Line {
            x1: x,
            y1,
            x2: x,
            y2,
            width,
        });
    }

    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32, dashed: bool) {
        self.draws.push(Draw::Rect {
            x,
            y,
            w,
            h,
            width,
            dashed,
        });
    }

    pub fn image(&mut self, image: ImageRef, x: f32, y: f32, w: f32, h: f32) {
        self.draws.push(Draw::Image { image, x, y, w, h });
    }
}

/// Page geometry: A4 with the margins of the 卫生行政执法文书 forms.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    pub left: f32,
    pub right: f32,
    pub top: f32,
    /// Bottom of the flowing content area (furniture goes below it).
    pub bottom: f32,
}

impl Geometry {
    /// A4 with 25 mm side margins, 22 mm at the top, and `footer` pt reserved above a
    /// 15 mm bottom margin for page furniture.
    pub fn a4(footer: f32) -> Geometry {
        Geometry {
            left: mm(25.0),
            right: A4_WIDTH - mm(25.0),
            top: mm(22.0),
            bottom: A4_HEIGHT - mm(15.0) - footer,
        }
    }
    pub fn width(&self) -> f32 {
        self.right - self.left
    }
}

/// The laid-out document: pages and the images they reference.
#[derive(Debug)]
pub struct Composed {
    pub pages: Vec<Page>,
    pub images: Vec<PreparedImage>,
}

/// Flows content down pages. See the module docs.
#[derive(Debug)]
pub struct Composer<'f> {
    pub font: &'f FontFace,
    pub geometry: Geometry,
    pages: Vec<Page>,
    y: f32,
    images: Vec<PreparedImage>,
}

impl<'f> Composer<'f> {
    pub fn new(font: &'f FontFace, geometry: Geometry) -> Composer<'f> {
        Composer {
            font,
            geometry,
            pages: vec![Page::default()],
            y: geometry.top,
            images: Vec::new(),
        }
    }

    /// Current position from the page top.
    pub fn y(&self) -> f32 {
        self.y
    }
    pub fn left(&self) -> f32 {
        self.geometry.left
    }
    pub fn width(&self) -> f32 {
        self.geometry.width()
    }
    pub fn bottom(&self) -> f32 {
        self.geometry.bottom
    }
    pub fn remaining(&self) -> f32 {
        self.geometry.bottom - self.y
    }
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }
    fn at_page_top(&self) -> bool {
        self.y <= self.geometry.top + 0.01
    }

    /// Canvas on the current page.
    pub fn canvas(&mut self) -> Canvas<'_> {
        let page = self.pages.last_mut().expect("a composer always has a page");
        Canvas {
            font: self.font,
            draws: &mut page.draws,
        }
    }

    pub fn add_image(&mut self, image: PreparedImage) -> ImageRef {
        self.images.push(image);
        ImageRef(self.images.len() - 1)
    }

    pub fn new_page(&mut self) {
        self.pages.push(Page::default());
        self.y = self.geometry.top;
    }

    /// Starts a new page unless `height` still fits on this one (or this page is
    /// still empty, where nothing would be gained).
    pub fn ensure(&mut self, height: f32) {
        if height > self.remaining() + 0.01 && !self.at_page_top() {
            self.new_page();
        }
    }

    /// Vertical space; never carried over to a new page.
    pub fn gap(&mut self, height: f32) {
        self.y = (self.y + height).min(self.geometry.bottom);
    }

    /// Places lines at `x`, continuing on new pages as needed.
    pub fn flow_lines(&mut self, x: f32, lines: &[Line], style: Style) {
        let lh = style.line_height();
        for line in lines {
            self.ensure(lh);
            let y = self.y;
            self.canvas().line_of_text(x, y, style, line);
            self.y += lh;
        }
    }

    /// A paragraph (or several, split at `\n`) across the full width, each first
    /// line indented by `first_indent` pt (two characters in official prose).
    pub fn paragraph(&mut self, text: &str, style: Style, first_indent: f32) {
        let text = self.font.sanitize(text);
        let lines = break_text(self.font, &text, style.size, self.width(), first_indent);
        let x = self.left();
        self.flow_lines(x, &lines, style);
    }

    /// One centred line (wrapped and centred line by line when too long).
    pub fn centered(&mut self, text: &str, style: Style) {
        let text = self.font.sanitize(text);
        let lines = break_text(self.font, &text, style.size, self.width(), 0.0);
        for line in lines {
            self.ensure(style.line_height());
            let w = line.width;
            let x = self.left() + (self.width() - w).max(0.0) / 2.0;
            let y = self.y;
            self.canvas().line_of_text(
                x,
                y,
                style,
                &Line {
                    char_spacing: 0.0,
                    ..line
                },
            );
            self.y += style.line_height();
        }
    }

    /// One right-aligned line (cut with "…" when it does not fit).
    pub fn right_aligned(&mut self, text: &str, style: Style) {
        self.ensure(style.line_height());
        let (x, w, y) = (self.left(), self.width(), self.y);
        self.canvas()
            .text_aligned(x, w, y, style, Align::Right, text);
        self.y += style.line_height();
    }

    /// A form field: "label：" then the value written on underlines, wrapping under
    /// itself (hanging after the label). An empty value leaves one blank underline to
    /// be filled in by hand.
    pub fn field(&mut self, label: &str, value: &str, style: Style) {
        let (x, width) = (self.left(), self.width());
        self.field_at(x, width, label, value, style);
    }

    fn field_at(&mut self, x: f32, width: f32, label: &str, value: &str, style: Style) {
        let label_w = self.font.width(label, style.size);
        let value_x = x + label_w;
        let value_w = (width - label_w).max(style.size * 4.0);
        let value = self.font.sanitize(value);
        let lines = break_text(self.font, &value, style.size, value_w, 0.0);
        let lh = style.line_height();
        for (i, line) in lines.iter().enumerate() {
            self.ensure(lh);
            let y = self.y;
            let mut canvas = self.canvas();
            if i == 0 {
                canvas.text(x, y, style, label);
            }
            canvas.line_of_text(value_x, y, style, line);
            canvas.hline(value_x, value_x + value_w, y + lh - style.size * 0.18, 0.5);
            self.y += lh;
        }
    }

    /// Several fields on one line, each given a share of the width; when a value does
    /// not fit its share, the fields are stacked instead (never cut).
    pub fn fields_row(&mut self, fields: &[(&str, &str, f32)], style: Style) {
        let fits = fields.iter().all(|(label, value, share)| {
            let w = self.width() * share;
            let need = self.font.width(label, style.size)
                + self.font.width(&self.font.sanitize(value), style.size)
                + style.size;
            need <= w
        });
        if !fits {
            for (label, value, _) in fields {
                self.field(label, value, style);
            }
            return;
        }
        let mut x = self.left();
        let y = self.y;
        for (label, value, share) in fields {
            let w = self.width() * share;
            self.y = y;
            self.field_at(x, w - style.size, label, value, style);
            x += w;
        }
    }

    /// A block that must not be split (a signature area): moves to a new page when
    /// `height` does not fit, then draws with `draw(canvas, x, top, width)`.
    pub fn block(&mut self, height: f32, draw: impl FnOnce(&mut Canvas<'_>, f32, f32, f32)) {
        self.ensure(height);
        let (x, y, w) = (self.left(), self.y, self.width());
        let mut canvas = self.canvas();
        draw(&mut canvas, x, y, w);
        self.y += height;
    }

    /// A ruled table. Cells wrap; a row taller than what is left on the page
    /// continues on the next one; the header row repeats on every page.
    pub fn table(&mut self, columns: &[Column], rows: &[Vec<String>], style: Style) {
        let pad = style.size * 0.4;
        let lh = style.line_height();
        let total_share: f32 = columns.iter().map(|c| c.share).sum();
        let widths: Vec<f32> = columns
            .iter()
            .map(|c| self.width() * c.share / total_share)
            .collect();
        let header_style = style.bold();
        let header_lines: Vec<Vec<Line>> = columns
            .iter()
            .zip(&widths)
            .map(|(c, w)| break_text(self.font, &c.header, style.size, w - 2.0 * pad, 0.0))
            .collect();
        let header_h = header_lines.iter().map(Vec::len).max().unwrap_or(1) as f32 * lh + 2.0 * pad;
        let fresh_capacity = ((self.geometry.bottom - self.geometry.top - header_h - 2.0 * pad)
            / lh)
            .floor()
            .max(1.0) as usize;

        let draw_header = |me: &mut Composer<'_>| {
            let (x0, y0) = (me.left(), me.y);
            let mut canvas = me.canvas();
            let mut x = x0;
            for ((col, lines), w) in columns.iter().zip(&header_lines).zip(&widths) {
                for (i, line) in lines.iter().enumerate() {
                    let lw = line.width;
                    let lx = x + (w - lw).max(0.0) / 2.0;
                    let plain = Line {
                        char_spacing: 0.0,
                        ..line.clone()
                    };
                    canvas.line_of_text(lx, y0 + pad + i as f32 * lh, header_style, &plain);
                }
                let _ = col;
                x += w;
            }
            me.rule_row(&widths, y0, y0 + header_h);
            me.y += header_h;
        };

        self.ensure(header_h + lh + 2.0 * pad);
        draw_header(self);
        for row in rows {
            let cells: Vec<Vec<Line>> = widths
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let text = self
                        .font
                        .sanitize(row.get(i).map(String::as_str).unwrap_or(""));
                    break_text(self.font, &text, style.size, w - 2.0 * pad, 0.0)
                })
                .collect();
            let total = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
            let mut done = 0;
            let mut fresh = false;
            while done < total {
                let mut fit = ((self.remaining() - 2.0 * pad) / lh).floor().max(0.0) as usize;
                let left = total - done;
                // Move to a fresh page when nothing fits, or when a row that would fit
                // whole on a fresh page would otherwise be split (keeps short rows
                // together; only rows longer than a page are split). On a fresh page
                // at least one line is placed, so this always ends.
                if !fresh && (fit == 0 || (fit < left && done == 0 && left <= fresh_capacity / 3)) {
                    self.new_page();
                    draw_header(self);
                    fresh = true;
                    continue;
                }
                fit = fit.max(1);
                fresh = false;
                let take = fit.min(left);
                let top = self.y;
                let mut x = self.left();
                for ((cell, w), col) in cells.iter().zip(&widths).zip(columns) {
                    for (k, line) in cell.iter().skip(done).take(take).enumerate() {
                        let y = top + pad + k as f32 * lh;
                        let mut canvas = self.canvas();
                        match col.align {
                            Align::Left => canvas.line_of_text(x + pad, y, style, line),
                            Align::Center | Align::Right => {
                                let inner = w - 2.0 * pad;
                                let off = if col.align == Align::Center {
                                    (inner - line.width).max(0.0) / 2.0
                                } else {
                                    (inner - line.width).max(0.0)
                                };
                                canvas.line_of_text(
                                    x + pad + off,
                                    y,
                                    style,
                                    &Line {
                                        char_spacing: 0.0,
                                        ..line.clone()
                                    },
                                );
                            }
                        }
                    }
                    x += w;
                }
                let bottom = top + take as f32 * lh + 2.0 * pad;
                self.rule_row(&widths, top, bottom);
                self.y = bottom;
                done += take;
                if done < total {
                    self.new_page();
                    draw_header(self);
                    fresh = true;
                }
            }
        }
    }

    /// Borders of one table row (or the part of it on this page).
    fn rule_row(&mut self, widths: &[f32], top: f32, bottom: f32) {
        let x0 = self.left();
        let x1 = x0 + widths.iter().sum::<f32>();
        let mut canvas = self.canvas();
        canvas.hline(x0, x1, top, 0.6);
        canvas.hline(x0, x1, bottom, 0.6);
        let mut x = x0;
        canvas.vline(x, top, bottom, 0.6);
        for w in widths {
            x += w;
            canvas.vline(x, top, bottom, 0.6);
        }
    }

    /// Ends composition: `furniture(canvas, page_number, page_count)` draws each
    /// page's footer (1-based page numbers) now that the count is known.
    pub fn finish(mut self, mut furniture: impl FnMut(&mut Canvas<'_>, usize, usize)) -> Composed {
        // A trailing page left empty by a page break just before the end is dropped.
        while self.pages.len() > 1 && self.pages.last().is_some_and(|p| p.draws.is_empty()) {
            self.pages.pop();
        }
        let total = self.pages.len();
        for (i, page) in self.pages.iter_mut().enumerate() {
            let mut canvas = Canvas {
                font: self.font,
                draws: &mut page.draws,
            };
            furniture(&mut canvas, i + 1, total);
        }
        Composed {
            pages: self.pages,
            images: self.images,
        }
    }
}

/// "第 x 页 共 y 页", the page mark of the official forms.
pub fn page_mark(page: usize, total: usize) -> String {
    format!("第{page}页 共{total}页")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed
mod tests {
    use super::*;

    fn texts(page: &Page) -> Vec<&str> {
        page.draws
            .iter()
            .filter_map(|d| match d {
                Draw::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    fn max_text_bottom(page: &Page) -> f32 {
        page.draws
            .iter()
            .filter_map(|d| match d {
                Draw::Text { baseline, .. } => Some(*baseline),
                _ => None,
            })
            .fold(0.0, f32::max)
    }

    #[test]
    fn long_paragraph_flows_over_pages_within_the_content_area() {
        let font = FontFace::embedded();
        let g = Geometry::a4(40.0);
        let mut c = Composer::new(font, g);
        let text = "检查发现处方未按规定保存，".repeat(600);
        c.paragraph(&text, Style::new(12.0), 24.0);
        let doc = c.finish(|_, _, _| {});
        assert!(doc.pages.len() >= 3, "{} pages", doc.pages.len());
        for p in &doc.pages {
            assert!(max_text_bottom(p) <= g.bottom, "text in the footer area");
        }
        let all: String = doc.pages.iter().flat_map(texts).collect();
        assert_eq!(all, text, "text is neither lost nor duplicated");
    }

    #[test]
    fn table_header_repeats_on_every_page() {
        let font = FontFace::embedded();
        let mut c = Composer::new(font, Geometry::a4(40.0));
        let cols = [
            Column {
                header: "序号".into(),
                share: 1.0,
                align: Align::Center,
            },
            Column {
                header: "现场检查情况".into(),
                share: 6.0,
                align: Align::Left,
            },
        ];
        let rows: Vec<Vec<String>> = (1..=60)
            .map(|i| vec![i.to_string(), format!("第{i}项观察到的事实。").repeat(3)])
            .collect();
        c.table(&cols, &rows, Style::new(11.0));
        let doc = c.finish(|_, _, _| {});
        assert!(doc.pages.len() >= 2);
        for p in &doc.pages {
            assert_eq!(
                texts(p).first(),
                Some(&"序号"),
                "header first on every page"
            );
        }
        // A giant cell splits across pages, still with headers.
        let mut c = Composer::new(font, Geometry::a4(40.0));
        let rows = vec![vec!["1".to_string(), "很长的记录。".repeat(1500)]];
        c.table(&cols, &rows, Style::new(11.0));
        let doc = c.finish(|_, _, _| {});
        assert!(doc.pages.len() >= 3);
        for p in &doc.pages {
            assert_eq!(texts(p).first(), Some(&"序号"));
        }
    }

    #[test]
    fn furniture_knows_the_page_count() {
        let font = FontFace::embedded();
        let mut c = Composer::new(font, Geometry::a4(40.0));
        c.paragraph("一", Style::new(12.0), 0.0);
        c.new_page();
        c.paragraph("二", Style::new(12.0), 0.0);
        c.new_page(); // left empty: dropped
        let doc = c.finish(|canvas, page, total| {
            canvas.text(0.0, 800.0, Style::new(9.0), &page_mark(page, total))
        });
        assert_eq!(doc.pages.len(), 2);
        assert_eq!(texts(&doc.pages[1]), ["二", "第2页 共2页"]);
    }

    #[test]
    fn block_moves_whole_to_the_next_page() {
        let font = FontFace::embedded();
        let g = Geometry::a4(0.0);
        let mut c = Composer::new(font, g);
        c.gap(g.bottom - g.top - 50.0);
        c.block(100.0, |canvas, x, y, _| {
            canvas.text(x, y, Style::new(12.0), "签名")
        });
        assert_eq!(c.page_count(), 2);
    }
}
