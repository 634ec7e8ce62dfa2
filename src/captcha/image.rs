//! The picture: a few characters drawn by the server from a public-domain 8×8 bitmap font
//! (`font8x8`), each scaled, turned and placed at random, the whole bent by two waves and
//! crossed by lines and specks, then encoded as PNG. Nothing is fetched and no font file is
//! read at run time.
//!
//! The alphabet leaves out characters that look alike once distorted (0/O/Q/D, 1/I/L, 2/Z,
//! 5/S, 3/8/B, 6/G, 9/g, U/V), so a person reading it has no reason to hesitate.

use rand::Rng;

pub const WIDTH: u32 = 220;
pub const HEIGHT: u32 = 80;
const ALPHABET: &[u8] = b"ACEFHJKMNPRTWXY47";
const LENGTH: usize = 5;

/// Random text for the picture.
pub fn text(rng: &mut impl Rng) -> String {
    (0..LENGTH).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

/// One character as placed on the picture.
struct Placed {
    glyph: [u8; 8],
    cx: f32,
    cy: f32,
    cos: f32,
    sin: f32,
    scale: f32,
    ink: [f32; 3],
}

impl Placed {
    /// How much of the glyph covers the point (0 to 1), smoothed between the font's pixels.
    fn coverage(&self, x: f32, y: f32) -> f32 {
        let (dx, dy) = (x - self.cx, y - self.cy);
        let u = (dx * self.cos + dy * self.sin) / self.scale + 4.0 - 0.5;
        let v = (-dx * self.sin + dy * self.cos) / self.scale + 4.0 - 0.5;
        if !(-1.0..8.0).contains(&u) || !(-1.0..8.0).contains(&v) {
            return 0.0;
        }
        let bit = |col: i32, row: i32| -> f32 {
            if !(0..8).contains(&col) || !(0..8).contains(&row) {
                return 0.0;
            }
            f32::from((self.glyph[row as usize] >> col) & 1)
        };
        let (c0, r0) = (u.floor() as i32, v.floor() as i32);
        let (fu, fv) = (u - u.floor(), v - v.floor());
        let top = bit(c0, r0) * (1.0 - fu) + bit(c0 + 1, r0) * fu;
        let bottom = bit(c0, r0 + 1) * (1.0 - fu) + bit(c0 + 1, r0 + 1) * fu;
        top * (1.0 - fv) + bottom * fv
    }
}

/// Draws `text` (characters of the alphabet) and returns the PNG file.
pub fn render(text: &str, rng: &mut impl Rng) -> Vec<u8> {
    let (w, h) = (WIDTH as usize, HEIGHT as usize);
    let step = (WIDTH as f32 - 30.0) / text.len().max(1) as f32;
    let placed: Vec<Placed> = text
        .bytes()
        .enumerate()
        .map(|(i, c)| {
            let angle: f32 = rng.gen_range(-0.3..0.3);
            let shade = rng.gen_range(10.0..90.0);
            Placed {
                glyph: font8x8::legacy::BASIC_LEGACY[usize::from(c & 0x7f)],
                cx: 15.0 + step * (i as f32 + 0.5) + rng.gen_range(-4.0..4.0),
                cy: HEIGHT as f32 / 2.0 + rng.gen_range(-8.0..8.0),
                cos: angle.cos(),
                sin: angle.sin(),
                scale: rng.gen_range(4.6..5.6),
                ink: [shade + rng.gen_range(0.0..60.0), shade, shade + rng.gen_range(0.0..80.0)],
            }
        })
        .collect();
    let (amp_x, amp_y) = (rng.gen_range(1.5..3.0f32), rng.gen_range(2.0..4.0f32));
    let (phase_x, phase_y) = (rng.gen_range(0.0..6.3f32), rng.gen_range(0.0..6.3f32));
    let paper = [rng.gen_range(215.0..250.0f32), rng.gen_range(215.0..250.0), rng.gen_range(215.0..250.0)];

    let mut pixels = vec![0f32; w * h * 3];
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32, y as f32);
            // Bend the text: where this pixel would have been before the waves.
            let sx = fx + amp_x * (fy / 7.0 + phase_x).sin();
            let sy = fy + amp_y * (fx / 11.0 + phase_y).sin();
            let mut colour = paper.map(|p| p - 12.0 * (fx / w as f32));
            for p in &placed {
                let alpha = ((p.coverage(sx, sy) - 0.3) / 0.4).clamp(0.0, 1.0);
                if alpha > 0.0 {
                    for (c, ink) in colour.iter_mut().zip(p.ink) {
                        *c = *c * (1.0 - alpha) + ink * alpha;
                    }
                }
            }
            pixels[(y * w + x) * 3..][..3].copy_from_slice(&colour);
        }
    }
    // Lines across the text, in the text's own colours, so they cannot be filtered by colour.
    for _ in 0..3 {
        let ink = placed.get(rng.gen_range(0..placed.len().max(1))).map_or([60.0; 3], |p| p.ink);
        let (y0, slope) = (rng.gen_range(15.0..HEIGHT as f32 - 15.0), rng.gen_range(-0.25..0.25f32));
        let (amp, period, phase) =
            (rng.gen_range(4.0..12.0f32), rng.gen_range(20.0..60.0f32), rng.gen_range(0.0..6.3f32));
        for x in 0..w {
            let y = y0 + slope * x as f32 + amp * (x as f32 / period + phase).sin();
            for dy in [0.0, 1.0] {
                let yy = (y + dy).round();
                if (0.0..HEIGHT as f32).contains(&yy) {
                    pixels[(yy as usize * w + x) * 3..][..3].copy_from_slice(&ink);
                }
            }
        }
    }
    for _ in 0..w * h / 25 {
        let (x, y) = (rng.gen_range(0..w), rng.gen_range(0..h));
        let grey = rng.gen_range(40.0..200.0f32);
        pixels[(y * w + x) * 3..][..3].copy_from_slice(&[grey, grey, grey]);
    }
    encode(&pixels.iter().map(|&v| v.clamp(0.0, 255.0) as u8).collect::<Vec<u8>>())
}

fn encode(rgb: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rgb.len() / 2);
    let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Writing to memory a picture of a fixed, valid size cannot fail.
    let mut writer = encoder.write_header().expect("a PNG header in memory");
    writer.write_image_data(rgb).expect("PNG data in memory");
    writer.finish().expect("a PNG in memory");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_uses_only_the_unambiguous_alphabet() {
        let mut rng = rand::thread_rng();
        for _ in 0..200 {
            let t = text(&mut rng);
            assert_eq!(t.len(), LENGTH);
            assert!(t.bytes().all(|c| ALPHABET.contains(&c)), "{t}");
        }
    }

    #[test]
    fn every_character_of_the_alphabet_has_a_glyph() {
        for &c in ALPHABET {
            assert!(font8x8::legacy::BASIC_LEGACY[usize::from(c)].iter().any(|&row| row != 0), "{}", c as char);
        }
    }

    #[test]
    fn the_picture_is_a_png_with_ink_on_paper() {
        let bytes = render("K7HP3", &mut rand::thread_rng());
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("a PNG header");
        let mut buf = vec![0; reader.output_buffer_size().expect("a sane size")];
        let info = reader.next_frame(&mut buf).expect("PNG data");
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        let dark = buf.chunks(3).filter(|p| p.iter().all(|&v| v < 150)).count();
        let light = buf.chunks(3).filter(|p| p.iter().all(|&v| v > 180)).count();
        // The text covers a good part of the picture, and most of it is still paper.
        assert!(dark > 1500, "{dark} dark pixels");
        assert!(light > (WIDTH * HEIGHT / 2) as usize, "{light} light pixels");
    }
}
