//! Turning art files into premultiplied RGBA pixmaps, once, at the output size.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result, bail};
use resvg::tiny_skia::{IntSize, Pixmap, Transform};
use resvg::usvg;

/// A pixmap placed at an offset in output coordinates.
pub struct Placed {
    pub pixmap: Pixmap,
    pub x: i32,
    pub y: i32,
}

/// A rectangle of frame pixels, [x0, x1) x [y0, y1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl Region {
    /// The pixels a float rectangle [x, y, w, h] touches, grown by `margin`, inside a
    /// `width` x `height` frame; None when nothing of it is inside.
    pub fn covering(rect: [f32; 4], margin: f32, width: u32, height: u32) -> Option<Region> {
        let [x, y, w, h] = rect;
        let clamp = |v: f32, max: u32| (v.max(0.0) as u32).min(max);
        let r = Region {
            x0: clamp((x - margin).floor(), width),
            y0: clamp((y - margin).floor(), height),
            x1: clamp((x + w + margin).ceil(), width),
            y1: clamp((y + h + margin).ceil(), height),
        };
        (r.x1 > r.x0 && r.y1 > r.y0).then_some(r)
    }

    pub fn intersects(&self, o: &Region) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }

    pub fn union(&self, o: &Region) -> Region {
        Region { x0: self.x0.min(o.x0), y0: self.y0.min(o.y0), x1: self.x1.max(o.x1), y1: self.y1.max(o.y1) }
    }
}

fn fonts() -> Arc<usvg::fontdb::Database> {
    static DB: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_system_fonts();
        db.set_sans_serif_family("DejaVu Sans");
        Arc::new(db)
    })
    .clone()
}

/// Whether any font is installed for text in the scene (the AI label).
pub fn have_fonts() -> bool {
    fonts().faces().next().is_some()
}

pub fn parse_svg(data: &[u8], origin: &str) -> Result<usvg::Tree> {
    let options = usvg::Options { fontdb: fonts(), ..Default::default() };
    usvg::Tree::from_data(data, &options).with_context(|| format!("{origin} is not a valid SVG file"))
}

/// Renders an SVG scaled by `scale` (and shifted by `dx`,`dy`) onto a `width`x`height` pixmap.
pub fn render_svg(tree: &usvg::Tree, width: u32, height: u32, scale: f32, dx: f32, dy: f32) -> Result<Pixmap> {
    let mut pixmap = Pixmap::new(width, height).context("pixmap size")?;
    let t = Transform::from_row(scale, 0.0, 0.0, scale, dx, dy);
    resvg::render(tree, t, &mut pixmap.as_mut());
    Ok(pixmap)
}

pub fn load_svg_file(path: &Path) -> Result<usvg::Tree> {
    let data = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_svg(&data, &path.display().to_string())
}

/// A pack layer: vector art, or pixels that span the pack's canvas.
pub enum LayerArt {
    Svg(usvg::Tree),
    Png(Pixmap),
}

/// Loads a layer by its extension: .svg or .png.
pub fn load_layer(path: &Path) -> Result<LayerArt> {
    match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
        Some("svg") => load_svg_file(path).map(LayerArt::Svg),
        Some("png") => {
            let img = image::open(path).with_context(|| format!("cannot decode {}: use a PNG file", path.display()))?.to_rgba8();
            Ok(LayerArt::Png(premultiplied(&img)))
        }
        _ => bail!("{}: a layer is an .svg or a .png", path.display()),
    }
}

/// Draws a layer onto a `width`x`height` pixmap: canvas point p lands at p·scale + (dx, dy).
/// A PNG is stretched over the whole canvas (`canvas`, the pack's canvas size).
pub fn render_layer(art: &LayerArt, canvas: [f32; 2], width: u32, height: u32, scale: f32, dx: f32, dy: f32) -> Result<Pixmap> {
    match art {
        LayerArt::Svg(tree) => render_svg(tree, width, height, scale, dx, dy),
        LayerArt::Png(png) => {
            let mut pixmap = Pixmap::new(width, height).context("pixmap size")?;
            let (sx, sy) = (scale * canvas[0] / png.width() as f32, scale * canvas[1] / png.height() as f32);
            let paint = resvg::tiny_skia::PixmapPaint { quality: resvg::tiny_skia::FilterQuality::Bicubic, ..Default::default() };
            pixmap.draw_pixmap(0, 0, png.as_ref(), &paint, Transform::from_row(sx, 0.0, 0.0, sy, dx, dy), None);
            Ok(pixmap)
        }
    }
}

fn premultiplied(img: &image::RgbaImage) -> Pixmap {
    let (w, h) = img.dimensions();
    let mut data = Vec::with_capacity((w * h * 4) as usize);
    for p in img.pixels() {
        let a = p.0[3] as u16;
        data.extend_from_slice(&[(p.0[0] as u16 * a / 255) as u8, (p.0[1] as u16 * a / 255) as u8, (p.0[2] as u16 * a / 255) as u8, p.0[3]]);
    }
    Pixmap::from_vec(data, IntSize::from_wh(w, h).expect("image size")).expect("pixmap")
}

/// Loads a PNG or JPEG and covers `width`x`height` with it (scaled to fill, centred, cropped).
pub fn load_image_cover(path: &Path, width: u32, height: u32) -> Result<Pixmap> {
    let img = image::open(path)
        .with_context(|| format!("cannot decode image {}: use a PNG or JPEG file", path.display()))?
        .to_rgba8();
    let (iw, ih) = img.dimensions();
    let scale = (width as f32 / iw as f32).max(height as f32 / ih as f32);
    let (sw, sh) = (((iw as f32 * scale).round() as u32).max(width), ((ih as f32 * scale).round() as u32).max(height));
    let resized = image::imageops::resize(&img, sw, sh, image::imageops::FilterType::CatmullRom);
    let (ox, oy) = ((sw - width) / 2, (sh - height) / 2);
    let cropped = image::imageops::crop_imm(&resized, ox, oy, width, height).to_image();
    Ok(premultiplied(&cropped))
}

/// Cuts a pixmap down to the bounding box of its visible pixels (plus a 2 px margin
/// for filtering), so per-frame drawing only touches what shows.
pub fn crop_to_content(pixmap: &Pixmap) -> Result<Placed> {
    let (w, h) = (pixmap.width() as usize, pixmap.height() as usize);
    let data = pixmap.data();
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0usize, 0usize);
    for y in 0..h {
        for x in 0..w {
            if data[(y * w + x) * 4 + 3] != 0 {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x + 1);
                y1 = y1.max(y + 1);
            }
        }
    }
    if x1 == 0 {
        bail!("the layer draws nothing");
    }
    let m = 2;
    let (x0, y0, x1, y1) = (x0.saturating_sub(m), y0.saturating_sub(m), (x1 + m).min(w), (y1 + m).min(h));
    let (cw, ch) = (x1 - x0, y1 - y0);
    let mut out = Vec::with_capacity(cw * ch * 4);
    for y in y0..y1 {
        out.extend_from_slice(&data[(y * w + x0) * 4..(y * w + x1) * 4]);
    }
    let pixmap = Pixmap::from_vec(out, IntSize::from_wh(cw as u32, ch as u32).expect("size")).expect("crop");
    Ok(Placed { pixmap, x: x0 as i32, y: y0 as i32 })
}

/// Draws `src` (premultiplied RGBA) over `dst` (premultiplied RGBA, `dst_w` wide),
/// scaled by `scale` with the source's origin at (`dx`, `dy`), bilinear, source-over;
/// only the source's `content` box [x0, y0, x1) x [y0, y1) is read. Separable: each
/// source row is scaled across once into a cache, then rows are blended down, so a
/// frame costs about two blends per output pixel (tiny-skia's general pipeline took
/// three to four times as long for the video host).
pub fn draw_scaled(dst: &mut [u8], dst_w: usize, src: &Pixmap, content: [u32; 4], scale: f32, dx: f32, dy: f32) {
    draw_scaled_xy(dst, dst_w, src, content, [scale, scale], dx, dy)
}

/// `draw_scaled` with a scale across and one down.
pub fn draw_scaled_xy(dst: &mut [u8], dst_w: usize, src: &Pixmap, content: [u32; 4], scale: [f32; 2], dx: f32, dy: f32) {
    let (sw, sh) = (src.width() as usize, src.height() as usize);
    let dst_h = dst.len() / 4 / dst_w;
    let [cx0, cy0, cx1, cy1] = content.map(|v| v as usize);
    if cx1 <= cx0 || cy1 <= cy0 || scale[0] <= 0.0 || scale[1] <= 0.0 {
        return;
    }
    // Output pixels whose centre maps inside the content box (with the filter's reach).
    let to_out = |s: usize, d: f32, scale: f32| s as f32 * scale + d;
    let ox0 = to_out(cx0, dx, scale[0]).floor().max(0.0) as usize;
    let ox1 = (to_out(cx1, dx, scale[0]).ceil().max(0.0) as usize).min(dst_w);
    let oy0 = to_out(cy0, dy, scale[1]).floor().max(0.0) as usize;
    let oy1 = (to_out(cy1, dy, scale[1]).ceil().max(0.0) as usize).min(dst_h);
    if ox1 <= ox0 || oy1 <= oy0 {
        return;
    }
    // Source sample and weight (0..=256 of the next one) per output column and row.
    let tap = |o: usize, d: f32, scale: f32, len: usize| -> (usize, u32) {
        let s = ((o as f32 + 0.5 - d) / scale - 0.5).clamp(0.0, (len - 1) as f32);
        let i = (s.floor() as usize).min(len - 1);
        (i, ((s - i as f32) * 256.0) as u32)
    };
    // The buffers of the last call on this thread: a frame's blits allocate nothing.
    let BlitScratch { mut xs, rows: [mut row0, mut row1], mut blended } = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
    xs.clear();
    xs.extend((ox0..ox1).map(|o| tap(o, dx, scale[0], sw)));
    let data = src.data();
    let width = ox1 - ox0;
    // Two horizontally scaled source rows, by source row index.
    // 8-bit samples in u16 lanes: both passes fit 16 bits (255 x 256), twice the
    // lanes of 32-bit arithmetic.
    row0.resize(width * 4, 0);
    row1.resize(width * 4, 0);
    let mut rows: [(usize, Vec<u16>); 2] = [(usize::MAX, row0), (usize::MAX, row1)];
    // Not scaled across (the sprite body, which only shifts), the columns between the
    // clamped edges take the same weight of consecutive samples: a loop the compiler
    // vectorizes. `run` is that stretch of columns.
    let run = {
        let mid = width / 2;
        let (im, fm) = xs[mid];
        let same = |k: usize| xs[k].1 == fm && xs[k].0 + mid == im + k && xs[k].0 + 1 < sw;
        let (mut a, mut b) = (mid, mid);
        while a > 0 && same(a - 1) {
            a -= 1;
        }
        while b < width && same(b) {
            b += 1;
        }
        a..b
    };
    let scale_row = |row: usize, out: &mut Vec<u16>| {
        let line = &data[row * sw * 4..(row + 1) * sw * 4];
        if !run.is_empty() {
            let (i0, f) = xs[run.start];
            let n = run.len() * 4;
            let (a, b) = (&line[i0 * 4..i0 * 4 + n], &line[(i0 + 1) * 4..(i0 + 1) * 4 + n]);
            for ((o, &x), &y) in out[run.start * 4..run.end * 4].iter_mut().zip(a).zip(b) {
                *o = (x as u16 * (256 - f as u16) + y as u16 * f as u16 + 128) >> 8;
            }
        }
        for (k, &(i, f)) in xs.iter().enumerate().filter(|(k, _)| !run.contains(k)) {
            let j = (i + 1).min(sw - 1);
            for c in 0..4 {
                out[k * 4 + c] = (line[i * 4 + c] as u16 * (256 - f as u16) + line[j * 4 + c] as u16 * f as u16 + 128) >> 8;
            }
        }
    };
    blended.resize(width * 4, 0);
    for oy in oy0..oy1 {
        let (iy, fy) = tap(oy, dy, scale[1], sh);
        let jy = (iy + 1).min(sh - 1);
        if !(cy0.saturating_sub(1)..cy1 + 1).contains(&iy) {
            continue;
        }
        for want in [iy, jy] {
            if rows[0].0 != want && rows[1].0 != want {
                // Replace the row not needed now.
                let slot = if rows[0].0 == iy || rows[0].0 == jy { 1 } else { 0 };
                scale_row(want, &mut rows[slot].1);
                rows[slot].0 = want;
            }
        }
        let top = if rows[0].0 == iy { &rows[0].1 } else { &rows[1].1 };
        let bottom = if rows[0].0 == jy { &rows[0].1 } else { &rows[1].1 };
        // Blended down, the row at once (vectorized), then laid over.
        for ((v, &t), &b) in blended.iter_mut().zip(top).zip(bottom) {
            *v = ((t * (256 - fy as u16) + b * fy as u16 + 128) >> 8) as u8;
        }
        blend_row(&mut dst[(oy * dst_w + ox0) * 4..(oy * dst_w + ox1) * 4], &blended);
    }
    let [(_, row0), (_, row1)] = rows;
    SCRATCH.with(|s| *s.borrow_mut() = BlitScratch { xs, rows: [row0, row1], blended });
}

/// Lays premultiplied RGBA pixels `src` over `dst` (the same length): a copy where
/// opaque, nothing where clear.
pub(crate) fn blend_row(dst: &mut [u8], src: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        // SSE2 is part of x86-64: four pixels a step, the same integer arithmetic.
        let done = sse2::blend_row(dst, src);
        blend_row_scalar(&mut dst[done * 4..], &src[done * 4..]);
    }
    #[cfg(not(target_arch = "x86_64"))]
    blend_row_scalar(dst, src);
}

fn blend_row_scalar(dst: &mut [u8], src: &[u8]) {
    for (px, v) in dst.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
        match v[3] {
            0 => {}
            255 => px.copy_from_slice(v),
            a => {
                let keep = 255 - a as u32;
                for c in 0..4 {
                    px[c] = (v[c] as u32 + (px[c] as u32 * keep + 127) / 255).min(255) as u8;
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::*;

    /// `blend_row_scalar` on the longest multiple of four pixels; returns how many.
    /// x / 255 for x < 65535 is (x + 1 + (x >> 8)) >> 8, exactly.
    pub fn blend_row(dst: &mut [u8], src: &[u8]) -> usize {
        let blocks = dst.len().min(src.len()) / 16;
        // SAFETY: SSE2 is always there on x86-64; every load and store is one of the
        // first `blocks` 16-byte blocks of both slices.
        unsafe {
            let (zero, one, round) = (_mm_setzero_si128(), _mm_set1_epi16(1), _mm_set1_epi16(127));
            let all = _mm_set1_epi16(255);
            // Two pixels as 16-bit lanes: v + dst · (255 - alpha) / 255, dst kept where alpha is 0.
            let over = |s: __m128i, d: __m128i| {
                let alpha = _mm_shufflehi_epi16(_mm_shufflelo_epi16(s, 0xFF), 0xFF);
                let x = _mm_add_epi16(_mm_mullo_epi16(d, _mm_sub_epi16(all, alpha)), round);
                let kept = _mm_srli_epi16(_mm_add_epi16(_mm_add_epi16(x, one), _mm_srli_epi16(x, 8)), 8);
                let clear = _mm_cmpeq_epi16(alpha, zero);
                _mm_or_si128(_mm_and_si128(clear, d), _mm_andnot_si128(clear, _mm_add_epi16(s, kept)))
            };
            for k in 0..blocks {
                let (s, d) = (src.as_ptr().add(k * 16) as *const __m128i, dst.as_mut_ptr().add(k * 16) as *mut __m128i);
                let (s, dv) = (_mm_loadu_si128(s), _mm_loadu_si128(d));
                // Whole blocks opaque (a copy) or clear (nothing) skip the arithmetic.
                let alphas = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_srli_epi32(s, 24), _mm_set1_epi32(255))) & 0x1111;
                if alphas == 0x1111 {
                    _mm_storeu_si128(d, s);
                    continue;
                }
                if _mm_movemask_epi8(_mm_cmpeq_epi32(_mm_srli_epi32(s, 24), zero)) == 0xFFFF {
                    continue;
                }
                let lo = over(_mm_unpacklo_epi8(s, zero), _mm_unpacklo_epi8(dv, zero));
                let hi = over(_mm_unpackhi_epi8(s, zero), _mm_unpackhi_epi8(dv, zero));
                _mm_storeu_si128(d, _mm_packus_epi16(lo, hi));
            }
        }
        blocks * 4
    }
}

/// Draws `src` over `dst` (`dst_w` wide) unscaled with its top left at whole pixel
/// (`x`, `y`): `draw_scaled` at scale 1 without the filter's passes (overlays: card,
/// captions, logo, label).
pub fn draw_over(dst: &mut [u8], dst_w: usize, src: &Pixmap, x: i32, y: i32) {
    draw_rgba_over(dst, dst_w, src.data(), src.width() as usize, x, y);
}

/// As `draw_over`, for premultiplied RGBA rows `src_w` pixels wide in a plain buffer.
pub fn draw_rgba_over(dst: &mut [u8], dst_w: usize, src: &[u8], src_w: usize, x: i32, y: i32) {
    let (sw, sh) = (src_w as i64, (src.len() / 4 / src_w.max(1)) as i64);
    let (dw, dh) = (dst_w as i64, (dst.len() / 4 / dst_w) as i64);
    let (x0, x1) = ((x as i64).max(0), (x as i64 + sw).min(dw));
    let (y0, y1) = ((y as i64).max(0), (y as i64 + sh).min(dh));
    if x1 <= x0 || y1 <= y0 {
        return;
    }
    for oy in y0..y1 {
        let sy = oy - y as i64;
        let (sx0, sx1) = ((x0 - x as i64 + sy * sw) as usize * 4, (x1 - x as i64 + sy * sw) as usize * 4);
        blend_row(&mut dst[(oy * dw + x0) as usize * 4..(oy * dw + x1) as usize * 4], &src[sx0..sx1]);
    }
}

/// `draw_scaled_xy`'s buffers, kept per thread between calls.
#[derive(Default)]
struct BlitScratch {
    xs: Vec<(usize, u32)>,
    rows: [Vec<u16>; 2],
    blended: Vec<u8>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<BlitScratch> = std::cell::RefCell::default();
}

/// The pixels of `box` ([x0, y0, x1, y1)) of an image `width` pixels wide, `bytes`
/// per pixel, row after row.
pub fn cut(image: &[u8], width: u32, [x0, y0, x1, y1]: [u32; 4], bytes: usize) -> Vec<u8> {
    let row = width as usize * bytes;
    (y0 as usize..y1 as usize).flat_map(|y| &image[y * row + x0 as usize * bytes..y * row + x1 as usize * bytes]).copied().collect()
}

/// The box [x0, y0, x1, y1) of a pixmap's pixels that are not fully transparent.
pub fn content_box(pixmap: &Pixmap) -> [u32; 4] {
    let (w, h) = (pixmap.width() as usize, pixmap.height() as usize);
    let data = pixmap.data();
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for y in 0..h {
        let row = &data[y * w * 4..(y + 1) * w * 4];
        let Some(first) = (0..w).find(|&x| row[x * 4 + 3] != 0) else { continue };
        let last = (0..w).rev().find(|&x| row[x * 4 + 3] != 0).unwrap_or(first);
        x0 = x0.min(first);
        x1 = x1.max(last + 1);
        y0 = y0.min(y);
        y1 = y1.max(y + 1);
    }
    if x1 <= x0 { [0, 0, 0, 0] } else { [x0 as u32, y0 as u32, x1 as u32, y1 as u32] }
}

/// Pseudo-random bytes (xorshift) for tests that hold vector code to its scalar
/// twin; `seed` carries on from call to call.
#[cfg(test)]
pub(crate) fn test_bytes(seed: &mut u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            (*seed >> 56) as u8
        })
        .collect()
}

#[cfg(test)]
mod scaled_tests {
    use super::*;
    use resvg::tiny_skia::{Color, FilterQuality, PixmapPaint, Transform};

    #[test]
    fn vector_blend_equals_scalar() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        // Random pixels, then blocks of opaque and of clear ones, with a tail.
        let mut src = test_bytes(&mut seed, 203 * 4);
        for (i, px) in src.chunks_exact_mut(4).enumerate() {
            match i / 4 % 4 {
                1 => px[3] = 255,
                2 => px.copy_from_slice(&[0; 4]),
                _ => {}
            }
        }
        let dst = test_bytes(&mut seed, 203 * 4);
        let (mut fast, mut slow) = (dst.clone(), dst);
        blend_row(&mut fast, &src);
        blend_row_scalar(&mut slow, &src);
        assert_eq!(fast, slow);
    }

    #[test]
    fn draw_scaled_matches_tiny_skias_bilinear() {
        // A keyed-out frame: a red-to-blue gradient disc on transparency.
        let mut src = Pixmap::new(60, 80).unwrap();
        for y in 0..80u32 {
            for x in 0..60u32 {
                let inside = ((x as f32 - 30.0) / 25.0).powi(2) + ((y as f32 - 40.0) / 35.0).powi(2) < 1.0;
                if inside {
                    let c = Color::from_rgba8((x * 4) as u8, 80, (y * 3) as u8, 255).premultiply().to_color_u8();
                    src.pixels_mut()[(y * 60 + x) as usize] = c;
                }
            }
        }
        let mut ours = Pixmap::new(200, 260).unwrap();
        ours.fill(Color::from_rgba8(20, 40, 60, 255));
        let mut theirs = ours.clone();
        let (scale, dx, dy) = (2.7, 13.4, -5.2);
        draw_scaled(ours.data_mut(), 200, &src, content_box(&src), scale, dx, dy);
        let paint = PixmapPaint { quality: FilterQuality::Bilinear, ..Default::default() };
        theirs.draw_pixmap(0, 0, src.as_ref(), &paint, Transform::from_row(scale, 0.0, 0.0, scale, dx, dy), None);
        let diff: Vec<i32> = ours.data().iter().zip(theirs.data()).map(|(a, b)| (*a as i32 - *b as i32).abs()).collect();
        let mean = diff.iter().sum::<i32>() as f64 / diff.len() as f64;
        let worst = *diff.iter().max().unwrap();
        // Inside the disc both interpolate alike; tiny-skia's edge pixels differ a little.
        eprintln!("draw_scaled against tiny-skia: mean {mean:.3}, worst {worst}");
        assert!(mean < 1.0 && worst < 60, "mean {mean:.2}, worst {worst}");
        assert_eq!(content_box(&src), [6, 6, 55, 75]);

        // Unscaled at whole pixels, partly off the edges: draw_over is draw_scaled exactly.
        for (x, y) in [(10, 20), (-7, -9), (170, 230)] {
            let (mut over, mut scaled) = (theirs.clone(), theirs.clone());
            draw_over(over.data_mut(), 200, &src, x, y);
            draw_scaled(scaled.data_mut(), 200, &src, [0, 0, 60, 80], 1.0, x as f32, y as f32);
            assert!(over.data() == scaled.data(), "at ({x}, {y})");
            assert!(over.data() != theirs.data(), "at ({x}, {y}) nothing was drawn");
        }
    }
}
