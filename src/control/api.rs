//! HTTP + JSON control API (axum on tokio). Every payload is validated before it
//! reaches the stream; errors are JSON `{"error", "field"}` with a 4xx status.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde::Deserialize;
use serde_json::json;

use super::state::Shared;
use crate::cue::SceneCommand;
use crate::show::director::Command;
use crate::show::lines::Priority;

/// Every route, as (method, path) in OpenAPI spelling; the OpenAPI test keeps
/// openapi.json and the router in step with this list.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/say"),
    ("get", "/v1/lines/{id}"),
    ("delete", "/v1/takeover"),
    ("put", "/v1/scene"),
    ("post", "/v1/gesture"),
    ("put", "/v1/overlays/card"),
    ("put", "/v1/overlays/captions"),
    ("get", "/v1/products"),
    ("get", "/v1/events"),
    ("get", "/v1/show"),
    ("put", "/v1/show"),
    ("post", "/v1/comments"),
    ("get", "/console"),
    ("get", "/v1/status"),
    ("get", "/v1/snapshot.jpg"),
    ("get", "/v1/openapi.json"),
    ("get", "/metrics"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("post", "/v1/whep"),
    ("delete", "/v1/whep/{id}"),
    ("get", "/player"),
    ("get", "/player.js"),
];

pub const OPENAPI: &str = include_str!("openapi.json");
const CONSOLE: &str = include_str!("console.html");
const PLAYER: &str = include_str!("player.html");
const PLAYER_JS: &str = include_str!("player.js");
/// Largest SDP offer accepted on POST /v1/whep.
const MAX_SDP_BYTES: usize = 64 * 1024;

/// Longest line a client may insert, in characters.
pub const MAX_TEXT_CHARS: usize = 500;
/// Largest request body, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

struct ApiState {
    shared: Arc<Shared>,
    token: Option<String>,
    llm: Option<crate::config::LlmConfig>,
}

pub struct ApiServer {
    runtime: Option<tokio::runtime::Runtime>,
    pub addr: SocketAddr,
}

impl ApiServer {
    /// Binds now (so a taken port stops startup with a clear message) and serves on
    /// its own tokio runtime.
    pub fn start(listen: &str, token: Option<String>, llm: Option<crate::config::LlmConfig>, shared: Arc<Shared>) -> Result<ApiServer> {
        let listener = std::net::TcpListener::bind(listen)
            .with_context(|| format!("control API cannot listen on {listen} (in use? pass --api 127.0.0.1:OTHER_PORT)"))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("control")
            .enable_all()
            .build()
            .context("starting the control API runtime")?;
        let app = router(Arc::new(ApiState { shared, token, llm }));
        runtime.spawn(async move {
            let listener = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => l,
                Err(e) => return tracing::error!("control API: {e}"),
            };
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("control API stopped: {e}");
            }
        });
        tracing::info!("control API on http://{addr}/v1/status");
        Ok(ApiServer { runtime: Some(runtime), addr })
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/v1/say", post(say))
        .route("/v1/lines/{id}", get(line))
        .route("/v1/takeover", delete(release_takeover))
        .route("/v1/scene", put(put_scene))
        .route("/v1/gesture", post(post_gesture))
        .route("/v1/overlays/card", put(put_card))
        .route("/v1/overlays/captions", put(put_captions))
        .route("/v1/products", get(products))
        .route("/v1/events", get(events))
        .route("/v1/show", get(get_show).put(put_show))
        .route("/v1/comments", post(comment))
        .route("/console", get(console))
        .route("/", get(|| async { axum::response::Redirect::to("/console") }))
        .route("/v1/status", get(status))
        .route("/v1/snapshot.jpg", get(snapshot))
        .route("/v1/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/whep", post(whep_offer).layer(DefaultBodyLimit::max(MAX_SDP_BYTES)))
        .route("/v1/whep/{id}", delete(whep_delete))
        .route("/player", get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PLAYER) }))
        .route("/player.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], PLAYER_JS) }))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such route; see /v1/openapi.json", None) })
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .layer(middleware::from_fn(refuse_oversized))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Liveness: the render loop advanced within the last few seconds (or the first frame
/// is still coming). Never tied to an ingest: reconnecting is the outputs' job.
async fn healthz(State(state): State<Arc<ApiState>>) -> Response {
    use crate::control::state::Health;
    match state.shared.health() {
        Health::Starting => (StatusCode::OK, axum::Json(json!({ "status": "starting" }))).into_response(),
        Health::Running => (StatusCode::OK, axum::Json(json!({ "status": "ok" }))).into_response(),
        Health::Stalled(ms) => stalled(ms),
    }
}

/// 503 for both probes while the render loop is wedged.
fn stalled(ms: u64) -> Response {
    let message = format!("the render loop has not advanced for {:.1} s", ms as f64 / 1000.0);
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({ "status": "stalled", "error": message }))).into_response()
}

/// Readiness: the first frame is out (the outputs start before it) and the loop runs.
async fn readyz(State(state): State<Arc<ApiState>>) -> Response {
    use crate::control::state::Health;
    match state.shared.health() {
        Health::Running => (StatusCode::OK, axum::Json(json!({ "status": "ready" }))).into_response(),
        Health::Starting => (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({ "status": "starting", "error": "no frame out yet" }))).into_response(),
        Health::Stalled(ms) => stalled(ms),
    }
}

/// Bodies up to this size that are too large are read and dropped before the 413, so
/// the client, still sending, reads the answer instead of a reset connection.
const DRAIN_AT_MOST_BYTES: usize = 8 << 20;

/// A body whose declared length is over the route's limit gets a 413 that names the
/// limit (a body without a declared length meets `DefaultBodyLimit` instead).
async fn refuse_oversized(request: Request, next: Next) -> Response {
    let limit = if request.uri().path() == "/v1/whep" { MAX_SDP_BYTES } else { MAX_BODY_BYTES };
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    let Some(length) = declared.filter(|&n| n > limit as u64) else { return next.run(request).await };
    if length <= DRAIN_AT_MOST_BYTES as u64 {
        let drain = axum::body::to_bytes(request.into_body(), DRAIN_AT_MOST_BYTES);
        let _ = tokio::time::timeout(Duration::from_secs(10), drain).await;
    }
    let mut response = error(StatusCode::PAYLOAD_TOO_LARGE, format!("the body is {length} bytes; this route takes at most {limit} bytes"), None);
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn error(status: StatusCode, message: impl Into<String>, field: Option<&str>) -> Response {
    (status, axum::Json(json!({ "error": message.into(), "field": field }))).into_response()
}

async fn auth(State(state): State<Arc<ApiState>>, request: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let header = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        // Browsers cannot set headers on <img> and WebSocket requests: the console
        // passes the token as ?token= on its GETs instead.
        let query = (request.method() == axum::http::Method::GET)
            .then(|| request.uri().query())
            .flatten()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token=")));
        let given = header.or(query);
        // The orchestrator's probes carry no token; they learn nothing but up or down.
        let public = matches!(request.uri().path(), "/console" | "/" | "/player" | "/player.js" | "/healthz" | "/readyz");
        if given != Some(token.as_str()) && !public {
            return error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token (Authorization: Bearer …)", None);
        }
    }
    next.run(request).await
}

/// Parses a JSON body strictly, naming the offending field on error.
fn parse_body<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, Response> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        if !ct.starts_with("application/json") {
            return Err(error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send the body as application/json", None));
        }
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let (status, msg) = if inner.is_syntax() || inner.is_eof() {
            (StatusCode::BAD_REQUEST, format!("body is not valid JSON: {inner}"))
        } else {
            (StatusCode::UNPROCESSABLE_ENTITY, inner.to_string())
        };
        let field = (path != ".").then_some(path);
        error(status, msg, field.as_deref())
    })?;
    // One JSON value and nothing after it (`{"text":"hi"}}}` is not a request).
    de.end().map_err(|e| error(StatusCode::BAD_REQUEST, format!("body is not valid JSON: {e} after the object"), None))?;
    Ok(value)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SayRequest {
    text: String,
    #[serde(default = "normal")]
    priority: Priority,
    /// A voice name; default: the show's.
    #[serde(default)]
    voice: Option<String>,
}

fn normal() -> Priority {
    Priority::Normal
}

async fn say(State(state): State<Arc<ApiState>>, headers: HeaderMap, body: Bytes) -> Response {
    let received = Instant::now();
    let req: SayRequest = match parse_body(&headers, &body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let text = req.text.trim();
    if text.is_empty() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "text is empty", Some("text"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return error(StatusCode::UNPROCESSABLE_ENTITY, format!("text is longer than {MAX_TEXT_CHARS} characters"), Some("text"));
    }
    let shared = &state.shared;
    if let Some(v) = req.voice.as_ref().filter(|v| !shared.voice_names.contains(v)) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, format!("no voice `{v}`; voices: {}", shared.voice_names.join(", ")), Some("voice"));
    }
    let id = shared.lines.add(text, req.priority);
    let cmd = Command::Say { id, text: text.to_string(), priority: req.priority, received, voice: req.voice };
    if shared.commands.try_send(cmd).is_err() {
        shared.lines.update(id, |r| r.state = crate::show::lines::LineState::Dropped { reason: "queue full".into() });
        return error(StatusCode::SERVICE_UNAVAILABLE, "the line queue is full; try again shortly", None);
    }
    let mut resp = (StatusCode::ACCEPTED, axum::Json(json!({ "id": id, "state": "queued", "priority": req.priority }))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/lines/{id}")) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

async fn line(State(state): State<Arc<ApiState>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return error(StatusCode::BAD_REQUEST, "line id must be a number", Some("id"));
    };
    match state.shared.lines.get(id) {
        Some(r) => axum::Json(r).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no line {id}"), Some("id")),
    }
}

async fn release_takeover(State(state): State<Arc<ApiState>>) -> Response {
    let _ = state.shared.commands.try_send(Command::ReleaseTakeover);
    StatusCode::NO_CONTENT.into_response()
}

/// Hands a scene change to the render loop; it shows from the next frame.
fn scene_change(state: &ApiState, cmd: SceneCommand) -> Response {
    match state.shared.commands.try_send(Command::Scene(cmd)) {
        Ok(()) => (StatusCode::ACCEPTED, axum::Json(json!({ "accepted": true }))).into_response(),
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "the command queue is full; try again shortly", None),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SceneRequest {
    background: Option<String>,
    crossfade_ms: Option<u32>,
    framing: Option<crate::cue::Framing>,
}

async fn put_scene(State(state): State<Arc<ApiState>>, headers: HeaderMap, body: Bytes) -> Response {
    let req: SceneRequest = match parse_body(&headers, &body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    if req.crossfade_ms.is_some_and(|ms| ms > 10_000) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "crossfade_ms is at most 10000", Some("crossfade_ms"));
    }
    let mut changes = Vec::new();
    if let Some(framing) = req.framing {
        changes.push(SceneCommand::Framing { framing });
    }
    if let Some(name) = req.background {
        if !state.shared.backgrounds.contains(&name) {
            let have = state.shared.backgrounds.join(", ");
            return error(StatusCode::UNPROCESSABLE_ENTITY, format!("no background `{name}` (have: {have})"), Some("background"));
        }
        changes.push(SceneCommand::Background { name, crossfade_ms: req.crossfade_ms });
    }
    if changes.is_empty() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "give `background` and/or `framing`", Some("background"));
    }
    let mut resp = error(StatusCode::INTERNAL_SERVER_ERROR, "no change", None);
    for change in changes {
        resp = scene_change(&state, change);
        if resp.status() != StatusCode::ACCEPTED {
            break;
        }
    }
    resp
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GestureRequest {
    name: String,
}

/// Starts a gesture of the avatar pack at its next natural point.
async fn post_gesture(State(state): State<Arc<ApiState>>, headers: HeaderMap, body: Bytes) -> Response {
    let req: GestureRequest = match parse_body(&headers, &body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    if !state.shared.gestures.contains(&req.name) {
        let have = if state.shared.gestures.is_empty() { "none".to_string() } else { state.shared.gestures.join(", ") };
        return error(StatusCode::UNPROCESSABLE_ENTITY, format!("no gesture `{}` in avatar pack {} (it has: {have})", req.name, state.shared.avatar), Some("name"));
    }
    scene_change(&state, SceneCommand::Gesture { name: req.name })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CardRequest {
    product: Option<String>,
    visible: Option<bool>,
    /// Starts a sale countdown of this many seconds (and shows the card).
    sale_seconds: Option<u32>,
}

async fn put_card(State(state): State<Arc<ApiState>>, headers: HeaderMap, body: Bytes) -> Response {
    let req: CardRequest = match parse_body(&headers, &body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    if req.product.is_none() && req.visible.is_none() && req.sale_seconds.is_none() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "the update changes nothing: give product, visible and/or sale_seconds", None);
    }
    if let Some(p) = &req.product {
        let show = state.shared.show.lock().map(|s| s.clone());
        if show.map(|s| s.product(p).is_none()).unwrap_or(true) {
            return error(StatusCode::UNPROCESSABLE_ENTITY, format!("no product `{p}`; see GET /v1/products"), Some("product"));
        }
    }
    if req.sale_seconds.is_some_and(|s| s > 24 * 3600) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "sale_seconds is at most 86400", Some("sale_seconds"));
    }
    scene_change(&state, SceneCommand::Card { product: req.product, visible: req.visible, sale_seconds: req.sale_seconds })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaptionsRequest {
    visible: bool,
}

async fn put_captions(State(state): State<Arc<ApiState>>, headers: HeaderMap, body: Bytes) -> Response {
    match parse_body::<CaptionsRequest>(&headers, &body) {
        Ok(r) => scene_change(&state, SceneCommand::Captions { visible: r.visible }),
        Err(resp) => resp,
    }
}

async fn get_show(State(state): State<Arc<ApiState>>) -> Response {
    let show = state.shared.show.lock().map(|s| s.clone());
    match show {
        Ok(show) => ([(header::CONTENT_TYPE, "application/toml; charset=utf-8")], show.source.clone()).into_response(),
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "show unavailable", None),
    }
}

/// Replaces the show with a new show file (TOML body), checked like the file at
/// startup; it is saved to the show file's path so a restart keeps it.
async fn put_show(State(state): State<Arc<ApiState>>, body: Bytes) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return error(StatusCode::BAD_REQUEST, "the show file must be UTF-8 TOML", None);
    };
    let show = match crate::show::file::ShowFile::parse(text) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, format!("{e:#}"), None),
    };
    let shared = &state.shared;
    let (products, segments) = (show.products.len(), show.segments.len());
    if let Err(e) = shared.replace_show(show) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, format!("{e:#}"), None);
    }
    let tmp = shared.show_path.with_extension("toml.tmp");
    if let Err(e) = std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, &shared.show_path)) {
        tracing::warn!("new show is live but could not be saved to {}: {e}", shared.show_path.display());
    }
    axum::Json(json!({ "products": products, "segments": segments })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommentRequest {
    user: String,
    text: String,
}

/// A chat comment from the platform: the first matching rule of the show file
/// answers it, unless that rule (or this user on it) is cooling down.
async fn comment(State(state): State<Arc<ApiState>>, headers: HeaderMap, body: Bytes) -> Response {
    let received = Instant::now();
    let req: CommentRequest = match parse_body(&headers, &body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    if req.text.chars().count() > MAX_TEXT_CHARS {
        return error(StatusCode::UNPROCESSABLE_ENTITY, format!("text is longer than {MAX_TEXT_CHARS} characters"), Some("text"));
    }
    if req.user.is_empty() || req.user.chars().count() > 100 {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "user must be 1 to 100 characters", Some("user"));
    }
    let shared = &state.shared;
    let show = match shared.show.lock() {
        Ok(s) => s.clone(),
        Err(_) => return error(StatusCode::SERVICE_UNAVAILABLE, "show unavailable", None),
    };
    let product_id = shared.last_product.lock().map(|p| p.clone()).unwrap_or_default();
    let Some((index, rule)) = show.rules.iter().enumerate().find(|(_, r)| r.matches(&req.text)) else {
        return match state.llm.clone() {
            Some(llm) => draft_answer(&state, llm, req, show.product(&product_id).cloned(), received),
            None => (StatusCode::ACCEPTED, axum::Json(json!({ "answered": false, "reason": "no rule matches" }))).into_response(),
        };
    };
    let Some(answer) = rule.answer(show.product(&product_id)) else {
        return (StatusCode::ACCEPTED, axum::Json(json!({ "answered": false, "rule": index, "reason": "no product on air to answer about" })))
            .into_response();
    };
    {
        let mut cd = shared.chat.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let cooling = |last: Option<&Instant>, secs: u32| last.is_some_and(|t| now.duration_since(*t) < Duration::from_secs(secs as u64));
        if cooling(cd.rule.get(&index), rule.cooldown_s) {
            return (StatusCode::ACCEPTED, axum::Json(json!({ "answered": false, "rule": index, "reason": "rule cooling down" }))).into_response();
        }
        if cooling(cd.user.get(&(index, req.user.clone())), rule.user_cooldown_s) {
            return (StatusCode::ACCEPTED, axum::Json(json!({ "answered": false, "rule": index, "reason": "user cooling down" }))).into_response();
        }
        cd.rule.insert(index, now);
        cd.user.insert((index, req.user.clone()), now);
    }
    let id = shared.lines.add(&answer, rule.priority);
    if shared.commands.try_send(Command::Say { id, text: answer.clone(), priority: rule.priority, received, voice: None }).is_err() {
        shared.lines.update(id, |r| r.state = crate::show::lines::LineState::Dropped { reason: "queue full".into() });
        return error(StatusCode::SERVICE_UNAVAILABLE, "the line queue is full; try again shortly", None);
    }
    (StatusCode::ACCEPTED, axum::Json(json!({ "answered": true, "rule": index, "id": id, "text": answer }))).into_response()
}

/// No rule matched and a chat endpoint is configured: the line is queued now (so it
/// can be followed) and filled in when the draft arrives, or with the fallback when
/// the endpoint fails or is too slow. One draft per user at a time.
fn draft_answer(state: &Arc<ApiState>, llm: crate::config::LlmConfig, req: CommentRequest, product: Option<crate::show::file::Product>, received: Instant) -> Response {
    let shared = state.shared.clone();
    {
        let mut cd = shared.chat.lock().unwrap_or_else(|p| p.into_inner());
        let key = (usize::MAX, req.user.clone());
        if cd.user.get(&key).is_some_and(|t| t.elapsed() < Duration::from_secs(30)) {
            return (StatusCode::ACCEPTED, axum::Json(json!({ "answered": false, "reason": "user cooling down" }))).into_response();
        }
        cd.user.insert(key, Instant::now());
    }
    let id = shared.lines.add("(drafting an answer)", Priority::Normal);
    tokio::spawn(async move {
        let fallback = llm.fallback.clone();
        let (user, text) = (req.user.clone(), req.text.clone());
        let drafted = tokio::task::spawn_blocking(move || crate::control::llm::draft(&llm, &user, &text, product.as_ref())).await;
        let answer = match drafted {
            Ok(Ok(a)) => a,
            Ok(Err(e)) => {
                tracing::warn!("chat draft failed, fallback line used: {e:#}");
                fallback
            }
            Err(e) => {
                tracing::warn!("chat draft failed, fallback line used: {e}");
                fallback
            }
        };
        shared.lines.update(id, |r| r.text = answer.clone());
        if shared.commands.try_send(Command::Say { id, text: answer, priority: Priority::Normal, received, voice: None }).is_err() {
            shared.lines.update(id, |r| r.state = crate::show::lines::LineState::Dropped { reason: "queue full".into() });
        }
    });
    (StatusCode::ACCEPTED, axum::Json(json!({ "answered": true, "drafting": true, "id": id }))).into_response()
}

/// WebSocket of JSON events: line_started / line_finished (with word timings),
/// line_cut, line_dropped, scene, error.
async fn events(State(state): State<Arc<ApiState>>, ws: WebSocketUpgrade) -> Response {
    let rx = state.shared.events.subscribe();
    ws.on_upgrade(move |socket| pump_events(socket, rx))
}

async fn pump_events(mut socket: WebSocket, mut rx: tokio::sync::broadcast::Receiver<String>) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let text = match rx.recv().await {
            Ok(text) => text,
            Err(RecvError::Lagged(n)) => json!({ "type": "lagged", "missed": n }).to_string(),
            Err(RecvError::Closed) => break,
        };
        if socket.send(Message::Text(text.into())).await.is_err() {
            break;
        }
    }
}

async fn products(State(state): State<Arc<ApiState>>) -> Response {
    let show = state.shared.show.lock().map(|s| s.clone());
    match show {
        Ok(show) => axum::Json(json!({ "products": show.products })).into_response(),
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "show unavailable", None),
    }
}

async fn status(State(state): State<Arc<ApiState>>) -> Response {
    let s = &state.shared;
    let frames = s.frames.load(Ordering::Relaxed);
    let now_playing = s.now_playing.lock().map(|g| g.clone()).unwrap_or_default();
    axum::Json(json!({
        "uptime_seconds": s.started.elapsed().as_secs_f64(),
        "frames_rendered": frames,
        "stream_seconds": frames as f64 / s.fps as f64,
        "late_frames": s.late_frames.load(Ordering::Relaxed),
        "repeated_frames": s.repeated_frames.load(Ordering::Relaxed),
        "av_offset_ms": s.av_offset_us.load(Ordering::Relaxed) as f64 / 1000.0,
        "worst_late_ms": s.worst_late_us.load(Ordering::Relaxed) / 1000,
        "lines_spoken": s.lines_spoken.load(Ordering::Relaxed),
        "speech_underruns": s.speech_underruns.load(Ordering::Relaxed),
        "interruptions": s.interruptions.load(Ordering::Relaxed),
        "takeover": s.takeover.load(Ordering::Relaxed),
        "last_insert_latency_ms": s.last_insert_latency_ms(),
        "now_playing": now_playing,
        "queue": s.lines.pending(),
        "outputs": s.outputs.iter().map(|h| h.report()).collect::<Vec<_>>(),
        "webrtc_viewers": s.whep.as_ref().map(|w| w.viewer_count()),
        "speech_cache": {
            "hits": s.speech_cache.hits.load(Ordering::Relaxed),
            "misses": s.speech_cache.misses.load(Ordering::Relaxed),
            "memory_bytes": s.speech_cache.memory_bytes(),
            "disk_bytes": s.speech_cache.disk_bytes(),
        },
        "backgrounds": s.backgrounds,
        "avatar": { "name": s.avatar, "gestures": s.gestures, "credits": s.credits, "lipsync": s.lipsync.as_ref().map(|l| l.report()) },
        "video": { "width": s.width, "height": s.height, "fps": s.fps },
    }))
    .into_response()
}

/// WHEP (RFC 9725): an SDP offer in, 201 with the answer and the session's Location.
async fn whep_offer(State(state): State<Arc<ApiState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(whep) = state.shared.whep.clone() else {
        return error(StatusCode::NOT_FOUND, "WebRTC playback is off (output.webrtc.enabled = false)", None);
    };
    if headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_none_or(|ct| !ct.starts_with("application/sdp")) {
        return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send the SDP offer as application/sdp", None);
    }
    let Ok(offer) = String::from_utf8(body.to_vec()) else {
        return error(StatusCode::BAD_REQUEST, "the SDP offer is not UTF-8 text", None);
    };
    match whep.answer(offer).await {
        Ok((id, answer)) => {
            let location = format!("/v1/whep/{id}");
            (StatusCode::CREATED, [(header::CONTENT_TYPE, "application/sdp".to_string()), (header::LOCATION, location)], answer).into_response()
        }
        Err(e) if e.to_string().starts_with("too many viewers") => error(StatusCode::SERVICE_UNAVAILABLE, format!("{e:#}"), None),
        Err(e) => error(StatusCode::BAD_REQUEST, format!("{e:#}"), None),
    }
}

async fn whep_delete(State(state): State<Arc<ApiState>>, Path(id): Path<String>) -> Response {
    let closed = match state.shared.whep.clone() {
        Some(whep) => whep.close(id).await,
        None => false,
    };
    match closed {
        true => StatusCode::OK.into_response(),
        false => error(StatusCode::NOT_FOUND, "no such WebRTC session", None),
    }
}

async fn snapshot(State(state): State<Arc<ApiState>>) -> Response {
    let shared = state.shared.clone();
    let jpeg = tokio::task::spawn_blocking(move || {
        let rgba = shared.snapshot.take(Duration::from_secs(2))?;
        let rgb: Vec<u8> = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .encode(&rgb, shared.width, shared.height, image::ExtendedColorType::Rgb8)
            .ok()?;
        Some(out)
    })
    .await
    .ok()
    .flatten();
    match jpeg {
        Some(bytes) => ([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "no-store")], bytes).into_response(),
        None => error(StatusCode::SERVICE_UNAVAILABLE, "no frame rendered within 2 s", None),
    }
}

/// The operator console: one page, talking to this API.
async fn console() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], CONSOLE).into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn metrics(State(state): State<Arc<ApiState>>) -> Response {
    let s = &state.shared;
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: f64| {
        out.push_str(&format!("# HELP avatarcast_{name} {help}\n# TYPE avatarcast_{name} {kind}\navatarcast_{name} {value}\n"));
    };
    metric("uptime_seconds", "gauge", "Seconds since the stream started.", s.started.elapsed().as_secs_f64());
    metric("frames_total", "counter", "Frames rendered and handed to the encoder.", s.frames.load(Ordering::Relaxed) as f64);
    metric("late_frames_total", "counter", "Frames handed to the encoder after their presentation time.", s.late_frames.load(Ordering::Relaxed) as f64);
    metric(
        "repeated_frames_total",
        "counter",
        "Frames that repeated the last picture because the stream had fallen behind real time (their sound went out; the frame grid has no hole).",
        s.repeated_frames.load(Ordering::Relaxed) as f64,
    );
    metric("lines_spoken_total", "counter", "Lines started on air.", s.lines_spoken.load(Ordering::Relaxed) as f64);
    metric("speech_underrun_frames_total", "counter", "Frames with nothing ready to say.", s.speech_underruns.load(Ordering::Relaxed) as f64);
    metric("interruptions_total", "counter", "Lines cut at a word boundary by urgent or takeover lines.", s.interruptions.load(Ordering::Relaxed) as f64);
    metric("queue_length", "gauge", "Inserted lines queued or speaking.", s.lines.pending().len() as f64);
    metric("takeover", "gauge", "1 while a takeover holds the show.", f64::from(u8::from(s.takeover.load(Ordering::Relaxed))));
    if let Some(ms) = s.last_insert_latency_ms() {
        metric("insert_on_air_latency_seconds", "gauge", "Last inserted line: request to first sample at the encoder.", ms / 1000.0);
    }
    let cache = &s.speech_cache;
    metric("speech_cache_hits_total", "counter", "Sentences found in the speech cache (no synthesis).", cache.hits.load(Ordering::Relaxed) as f64);
    metric("speech_cache_misses_total", "counter", "Sentences synthesized.", cache.misses.load(Ordering::Relaxed) as f64);
    metric("speech_cache_disk_bytes", "gauge", "Bytes of the speech cache on disk.", cache.disk_bytes() as f64);
    if let Some(whep) = &s.whep {
        metric("webrtc_viewers", "gauge", "WebRTC (WHEP) viewers connected or connecting.", whep.viewer_count() as f64);
    }
    if let Some(l) = &s.lipsync {
        let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed) as f64;
        metric("lipsync_frames_total", "counter", "Frames whose mouth the neural lip-sync redrew.", n(&l.frames));
        metric("lipsync_late_frames_total", "counter", "Frames whose redrawn mouth was not ready in time (the footage's own mouth showed).", n(&l.late));
        metric("lipsync_skipped_frames_total", "counter", "Frames in silence or without a face box (no inference).", n(&l.skipped));
        metric("lipsync_errors_total", "counter", "Frames the lip-sync model failed on.", n(&l.errors));
        metric("lipsync_inference_seconds_total", "counter", "Time in the lip-sync model.", n(&l.inference_ns) / 1e9);
    }
    crate::output::metrics(&s.outputs, &mut out);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
