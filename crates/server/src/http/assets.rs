//! The web console (控制台) and the public pages, served at `/` from `console/dist`:
//! embedded in a release build (one binary to deploy), read from the folder in a
//! debug build (rebuild the console, reload the page). A path that names no file
//! gets `index.html` (the console's own router shows the page), except under
//! `/api/`, which keeps its JSON 404. Without a built console, `/` says so.

use crate::error::ErrorCode;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

#[derive(rust_embed::Embed)]
#[folder = "../../console/dist"]
#[allow_missing = true]
struct Dist;

/// The page shown when `console/dist` was not built.
const NOT_BUILT: &str = "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\">\
<title>控制台未构建</title><body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\">\
<h1>控制台未构建</h1><p>本程序构建时没有找到 console/dist。请运行 \
<code>cd console &amp;&amp; npm ci &amp;&amp; npm run build</code> 后重新构建 jiandu-server，\
或使用 <code>bash scripts/run.sh</code>。</p><p>API 不受影响：<a href=\"/api/openapi.json\">/api/openapi.json</a></p></body></html>";

/// The fallback of every route: a console file, the console's `index.html`, or the
/// API's JSON 404 under `/api/`.
pub async fn serve(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") {
        return super::error::ApiError::new(ErrorCode::NotFound, "接口不存在").into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return super::error::ApiError::new(ErrorCode::MethodNotAllowed, "该页面只支持 GET 请求")
            .into_response();
    }
    let file = path.trim_start_matches('/');
    if !file.is_empty()
        && let Some(found) = Dist::get(file)
    {
        let mime = found.metadata.mimetype().to_owned();
        // Vite names its assets by content hash: cache them for good.
        let cache = if file.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        return (
            [
                (header::CONTENT_TYPE, mime),
                (header::CACHE_CONTROL, cache.to_owned()),
            ],
            found.data.into_owned(),
        )
            .into_response();
    }
    match Dist::get("index.html") {
        Some(index) => {
            let mut resp = Html(index.data.into_owned()).into_response();
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            resp
        }
        None => (StatusCode::OK, Html(NOT_BUILT)).into_response(),
    }
}
