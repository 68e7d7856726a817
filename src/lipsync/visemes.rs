//! IPA phoneme -> mouth shape. Piper voices speak one Unicode character per phoneme
//! symbol, so diphthongs ("aɪ", "oʊ") arrive as two symbols with their own durations
//! and split into two shapes by themselves.

/// The mouth shapes of 2D animation (Preston Blair, as used by Rhubarb Lip Sync).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mouth {
    /// Closed, lips pressed: P B M.
    A,
    /// Slightly open, teeth together: most consonants, EE.
    B,
    /// Open: EH, AE, schwa.
    C,
    /// Wide open: AA.
    D,
    /// Slightly rounded: AO, ER.
    E,
    /// Puckered: UW, OW, W.
    F,
    /// Upper teeth on lower lip: F V.
    G,
    /// Tongue raised behind the teeth: L.
    H,
    /// Rest.
    X,
}

impl Mouth {
    pub const ALL: [Mouth; 9] = [Mouth::A, Mouth::B, Mouth::C, Mouth::D, Mouth::E, Mouth::F, Mouth::G, Mouth::H, Mouth::X];

    pub fn letter(self) -> char {
        match self {
            Mouth::A => 'A',
            Mouth::B => 'B',
            Mouth::C => 'C',
            Mouth::D => 'D',
            Mouth::E => 'E',
            Mouth::F => 'F',
            Mouth::G => 'G',
            Mouth::H => 'H',
            Mouth::X => 'X',
        }
    }

    /// Whether the lips are apart.
    pub fn is_open(self) -> bool {
        !matches!(self, Mouth::A | Mouth::X)
    }
}

pub enum Shape {
    Mouth(Mouth),
    /// Stress marks, written just before the vowel they stress.
    Stress,
    /// Length and other marks that extend the previous sound.
    Modifier,
    /// Word gaps, punctuation, start and end of the utterance.
    Pause,
}

pub fn mouth_for(phoneme: char) -> Shape {
    use Mouth::*;
    Shape::Mouth(match phoneme {
        // Wide open vowels.
        'a' | 'ɑ' | 'ɒ' | 'ɐ' | 'ɶ' => D,
        // Open vowels.
        'æ' | 'ɛ' | 'e' | 'ə' | 'ʌ' | 'ɜ' | 'ɞ' | 'ɘ' | 'ɵ' | 'ɤ' => C,
        // Closed front vowels.
        'i' | 'ɪ' | 'ɨ' | 'y' | 'ʏ' | 'ɯ' | 'j' => B,
        // Rounded.
        'o' | 'ɔ' | 'ɚ' | 'ɝ' | 'ø' | 'œ' => E,
        'u' | 'ʊ' | 'ʉ' | 'w' | 'ʍ' | 'ɥ' => F,
        // Lips closed.
        'p' | 'b' | 'm' | 'ɱ' => A,
        // Teeth on lip.
        'f' | 'v' => G,
        // Tongue up.
        'l' | 'ɫ' | 'ɭ' | 'ʎ' | 'ɬ' => H,
        // Other consonants: teeth together, lips slightly apart.
        't' | 'd' | 'n' | 'k' | 'g' | 'ɡ' | 'ŋ' | 's' | 'z' | 'ʃ' | 'ʒ' | 'θ' | 'ð' | 'h' | 'ɹ' | 'r' | 'ɾ' | 'ʔ' | 'x' | 'ç'
        | 'ʂ' | 'ʐ' | 'ɕ' | 'ʑ' | 'c' | 'ɟ' | 'q' | 'ɲ' | 'ɳ' | 'ɻ' | 'ʁ' | 'χ' | 'ɣ' | 'β' | 'ɸ' | 'ʀ' | 'ɦ' => B,
        ' ' | ',' | '.' | '!' | '?' | ';' | ':' | '^' | '$' | '_' | '-' | '(' | ')' | '"' => return Shape::Pause,
        'ˈ' | 'ˌ' => return Shape::Stress,
        // Length ː, ties, tones, combining marks.
        _ => return Shape::Modifier,
    })
}
