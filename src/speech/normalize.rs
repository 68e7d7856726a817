//! Commerce text normalization: what a host reads off a product card becomes words a
//! voice says right. Prices and currencies, percentages and discounts, ranges, "2x",
//! "buy 2 get 1", units, sizes, model numbers, phone numbers, URLs and e-mail
//! addresses, times, dates and ordinals; in English, and in Chinese for lines
//! written in Chinese. Every number comes out as words, so the result is the same
//! whatever engine speaks it. Emoji and decoration are dropped later (text.rs).

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// Which rules apply: a line with any Chinese character is read as Chinese.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    pub fn of(text: &str) -> Lang {
        if text.chars().any(is_cjk) { Lang::Zh } else { Lang::En }
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

pub fn normalize(text: &str) -> String {
    let out = match Lang::of(text) {
        Lang::En => english(text),
        Lang::Zh => chinese(text),
    };
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("normalization pattern")
}

/// Applies `f` to every match of `pattern`.
fn sub(text: &str, pattern: &Regex, f: impl Fn(&Captures) -> String) -> String {
    pattern.replace_all(text, |c: &Captures| f(c)).into_owned()
}

fn int(s: &str) -> u64 {
    s.replace(',', "").parse().unwrap_or(0)
}

// ---------------------------------------------------------------- English numbers

const ONES: [&str; 20] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen",
    "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
];
const TENS: [&str; 10] = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

/// 1299 -> "one thousand two hundred ninety-nine".
pub fn cardinal(n: u64) -> String {
    fn below_thousand(n: u64) -> String {
        let (h, r) = (n / 100, n % 100);
        let mut parts = Vec::new();
        if h > 0 {
            parts.push(format!("{} hundred", ONES[h as usize]));
        }
        if r > 0 || h == 0 {
            parts.push(match r {
                0..=19 => ONES[r as usize].to_string(),
                _ if r % 10 == 0 => TENS[(r / 10) as usize].to_string(),
                _ => format!("{}-{}", TENS[(r / 10) as usize], ONES[(r % 10) as usize]),
            });
        }
        parts.join(" ")
    }
    if n < 1000 {
        return below_thousand(n);
    }
    let scales = [(1_000_000_000_000, "trillion"), (1_000_000_000, "billion"), (1_000_000, "million"), (1_000, "thousand")];
    let mut parts = Vec::new();
    let mut rest = n;
    for (size, name) in scales {
        if rest >= size {
            parts.push(format!("{} {name}", cardinal(rest / size)));
            rest %= size;
        }
    }
    if rest > 0 {
        parts.push(below_thousand(rest));
    }
    parts.join(" ")
}

/// 21 -> "twenty-first".
pub fn ordinal(n: u64) -> String {
    let words = cardinal(n);
    let (head, last) = match words.rfind([' ', '-']) {
        Some(i) => words.split_at(i + 1),
        None => ("", words.as_str()),
    };
    let last = match last {
        "one" => "first".to_string(),
        "two" => "second".to_string(),
        "three" => "third".to_string(),
        "five" => "fifth".to_string(),
        "eight" => "eighth".to_string(),
        "nine" => "ninth".to_string(),
        "twelve" => "twelfth".to_string(),
        w if w.ends_with('y') => format!("{}ieth", &w[..w.len() - 1]),
        w => format!("{w}th"),
    };
    format!("{head}{last}")
}

/// "3.05" -> "three point zero five"; "1,299" -> "one thousand two hundred ninety-nine".
fn decimal(s: &str) -> String {
    match s.split_once('.') {
        Some((i, f)) if !f.is_empty() => {
            let digits: Vec<&str> = f.chars().map(|d| ONES[d.to_digit(10).unwrap_or(0) as usize]).collect();
            format!("{} point {}", cardinal(int(i)), digits.join(" "))
        }
        _ => cardinal(int(s)),
    }
}

fn digits_en(s: &str) -> String {
    s.chars().filter_map(|c| c.to_digit(10)).map(|d| ONES[d as usize]).collect::<Vec<_>>().join(" ")
}

/// Years read in pairs: 2024 -> "twenty twenty-four", 2005 -> "two thousand five".
fn year(n: u64) -> String {
    match (n / 100, n % 100) {
        (20, r) if r < 10 => cardinal(n),
        (h, 0) => format!("{} hundred", cardinal(h)),
        (h, r) if r < 10 => format!("{} oh {}", cardinal(h), cardinal(r)),
        (h, r) => format!("{} {}", cardinal(h), cardinal(r)),
    }
}

const MONTHS: [&str; 12] =
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/// A currency amount: ("dollar", "dollars", Some(("cent", "cents"))).
fn money_en(amount: &str, unit: (&str, &str), minor: Option<(&str, &str)>) -> String {
    let (whole, frac) = match amount.split_once('.') {
        Some((w, f)) => (int(w), f),
        None => (int(amount), ""),
    };
    let plural = |n: u64, (one, many): (&str, &str)| if n == 1 { one.to_string() } else { many.to_string() };
    let cents = match frac.len() {
        0 => 0,
        1 => frac.parse::<u64>().unwrap_or(0) * 10,
        _ => frac[..2].parse::<u64>().unwrap_or(0),
    };
    match (whole, cents, minor) {
        (_, 0, _) => format!("{} {}", cardinal(whole), plural(whole, unit)),
        (0, c, Some(m)) => format!("{} {}", cardinal(c), plural(c, m)),
        (w, c, Some(_)) => format!("{} {} {}", cardinal(w), plural(w, unit), cardinal(c)),
        (_, _, None) => format!("{} {}", decimal(amount), unit.1),
    }
}

fn currency_en(symbol: &str) -> ((&'static str, &'static str), Option<(&'static str, &'static str)>) {
    match symbol {
        "$" | "US$" | "USD" => (("dollar", "dollars"), Some(("cent", "cents"))),
        "€" | "EUR" => (("euro", "euros"), Some(("cent", "cents"))),
        "£" | "GBP" => (("pound", "pounds"), Some(("penny", "pence"))),
        _ => (("yuan", "yuan"), None),
    }
}

fn unit_en(unit: &str) -> Option<(&'static str, &'static str)> {
    Some(match unit {
        "ml" | "mL" => ("milliliter", "milliliters"),
        "l" | "L" => ("liter", "liters"),
        "kg" => ("kilogram", "kilograms"),
        "g" => ("gram", "grams"),
        "mg" => ("milligram", "milligrams"),
        "cm" => ("centimeter", "centimeters"),
        "mm" => ("millimeter", "millimeters"),
        "m" => ("meter", "meters"),
        "km" => ("kilometer", "kilometers"),
        "in" | "inch" | "inches" | "\"" | "″" => ("inch", "inches"),
        "ft" => ("foot", "feet"),
        "oz" => ("ounce", "ounces"),
        "lb" | "lbs" => ("pound", "pounds"),
        "mAh" => ("milliamp hour", "milliamp hours"),
        "W" => ("watt", "watts"),
        "V" => ("volt", "volts"),
        "Hz" => ("hertz", "hertz"),
        "MB" => ("megabyte", "megabytes"),
        "GB" => ("gigabyte", "gigabytes"),
        "TB" => ("terabyte", "terabytes"),
        "pcs" | "pc" => ("piece", "pieces"),
        "°C" | "℃" => ("degree Celsius", "degrees Celsius"),
        "°F" | "℉" => ("degree Fahrenheit", "degrees Fahrenheit"),
        _ => return None,
    })
}

fn spell_letters(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphabetic()).map(|c| c.to_ascii_uppercase().to_string()).collect::<Vec<_>>().join(" ")
}

static URL: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(?-u:\b)(?:https?://)?((?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|shop|store|io|co|cn|uk|de|us|tv|app)(?-u:\b)(?:/[\w/-]*)?)"));
static EMAIL: LazyLock<Regex> = LazyLock::new(|| re(r"(?-u:\b)([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)(?-u:\b)"));
static PHONE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:\+(\d{1,3})[ -]?)?(?:\((\d{3})\)\s?|\b(\d{3,4})[ -])(\d{3,4})[ -](\d{4})\b"));
static ISO_DATE: LazyLock<Regex> = LazyLock::new(|| re(r"\b((?:19|20)\d\d)-(\d\d?)-(\d\d?)\b"));
static SLASH_DATE: LazyLock<Regex> = LazyLock::new(|| re(r"\b(\d\d?)/(\d\d?)(?:/((?:19|20)\d\d))?\b"));
static MONTH_DAY: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.? (\d\d?)(?:st|nd|rd|th)?\b"));
static TIME: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(\d\d?)(?::(\d\d))?\s?([ap])\.?m\.?(\W|$)|\b(\d\d?):(\d\d)\b"));
static MONEY_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(US\$|\$|€|£|¥|￥)(\d[\d,]*(?:\.\d+)?)\s*(?:-|–|to)\s*(?:US\$|\$|€|£|¥|￥)?(\d[\d,]*(?:\.\d+)?)")
});
static MONEY: LazyLock<Regex> = LazyLock::new(|| re(r"(US\$|\$|€|£|¥|￥)\s?(\d[\d,]*(?:\.\d+)?)|(\d[\d,]*(?:\.\d+)?)\s?(元|USD|EUR|GBP|RMB|CNY)"));
static PERCENT_OFF: LazyLock<Regex> = LazyLock::new(|| re(r"(?:^|\s)-(\d+(?:\.\d+)?)\s?%"));
static PERCENT: LazyLock<Regex> = LazyLock::new(|| re(r"(\d+(?:\.\d+)?)\s?%"));
static RANGE: LazyLock<Regex> = LazyLock::new(|| re(r"\b(\d+(?:\.\d+)?)\s?(?:-|–|~)\s?(\d+(?:\.\d+)?)\b"));
static DIMENSIONS: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(\d+(?:\.\d+)?)\s?[x×]\s?(\d+(?:\.\d+)?)(?:\s?(mm|cm|m|in|inches|ft)\b)?"));
static UNIT: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"\b(\d+(?:\.\d+)?)\s?(mAh|ml|mL|mg|kg|km|cm|mm|lbs|lb|oz|ft|inches|inch|in|pcs|pc|MB|GB|TB|Hz|°C|°F|℃|℉|g|l|L|m|W|V)(?:\b|$)|\b(\d+(?:\.\d+)?)(")"#)
});
static TIMES: LazyLock<Regex> = LazyLock::new(|| re(r"\b(\d+)x\b|\bx(\d+)\b|\b(\d+)\s?×(\s|$)"));
static THOUSANDS: LazyLock<Regex> = LazyLock::new(|| re(r"\b(\d+(?:\.\d+)?)([kKM])\b"));
static ORDINAL: LazyLock<Regex> = LazyLock::new(|| re(r"\b(\d+)(?:st|nd|rd|th)\b"));
static SIZE: LazyLock<Regex> = LazyLock::new(|| re(r"\b(XXXL|XXL|XL|XS|XXS|3XL|2XL)\b|\b([Ss]ize) ([SML])\b"));
static MODEL: LazyLock<Regex> = LazyLock::new(|| re(r"\b([A-Z]{1,4})-?(\d{2,6})([A-Z]{0,3})\b"));
static FRACTION: LazyLock<Regex> = LazyLock::new(|| re(r"\b([1-3])/([234])\b"));
static NUMBER: LazyLock<Regex> = LazyLock::new(|| re(r"\d[\d,]*(?:\.\d+)?"));

/// English as a voice reads it: contacts, dates and times first, then amounts.
fn english(text: &str) -> String {
    english_amounts(&english_contacts_and_dates(text))
}

/// E-mail addresses, URLs, phone numbers, dates, fractions and times in words.
fn english_contacts_and_dates(text: &str) -> String {
    let mut t = text.replace('＄', "$");
    t = sub(&t, &EMAIL, |c| format!("{} at {}", c[1].replace('.', " dot "), c[2].replace('.', " dot ")));
    t = sub(&t, &URL, |c| c[1].trim_end_matches('/').replace("www.", "w w w dot ").replace('.', " dot ").replace('/', " slash "));
    t = sub(&t, &PHONE, |c| {
        let groups: Vec<String> = (1..=5).filter_map(|i| c.get(i)).map(|m| digits_en(m.as_str())).collect();
        groups.join(", ")
    });
    t = t.replace("24/7", "twenty-four seven").replace("w/ ", "with ").replace("w/", "with ").replace("BOGO", "buy one get one");
    t = sub(&t, &ISO_DATE, |c| format!("{} {}, {}", MONTHS[(int(&c[2]).clamp(1, 12) - 1) as usize], ordinal(int(&c[3])), year(int(&c[1]))));
    t = sub(&t, &FRACTION, |c| {
        let (n, d) = (int(&c[1]), int(&c[2]));
        match (n, d) {
            (1, 2) => "one half".into(),
            (n, 3) => format!("{} {}", cardinal(n), if n == 1 { "third" } else { "thirds" }),
            (n, 4) => format!("{} {}", cardinal(n), if n == 1 { "quarter" } else { "quarters" }),
            _ => format!("{} over {}", cardinal(n), cardinal(d)),
        }
    });
    t = sub(&t, &SLASH_DATE, |c| {
        let (a, b) = (int(&c[1]), int(&c[2]));
        // Month first (US), unless the first number cannot be a month.
        let (m, d) = if a > 12 { (b, a) } else { (a, b) };
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
            return format!("{} slash {}", cardinal(a), cardinal(b));
        }
        let y = c.get(3).map(|y| format!(", {}", year(int(y.as_str())))).unwrap_or_default();
        format!("{} {}{y}", MONTHS[(m - 1) as usize], ordinal(d))
    });
    t = sub(&t, &MONTH_DAY, |c| {
        let m = MONTHS.iter().position(|name| name.starts_with(&c[1])).unwrap_or(0);
        format!("{} {}", MONTHS[m], ordinal(int(&c[2])))
    });
    t = sub(&t, &TIME, |c| {
        if let Some(h) = c.get(1) {
            let minutes = c.get(2).map(|m| int(m.as_str())).unwrap_or(0);
            let ampm = if c[3].eq_ignore_ascii_case("a") { "a m" } else { "p m" };
            return format!("{} {ampm}{}", clock_en(int(h.as_str()), minutes, false), &c[4]);
        }
        let (h, m) = (int(&c[5]), int(&c[6]));
        if h > 23 || m > 59 {
            return format!("{} {}", cardinal(h), cardinal(m));
        }
        match h {
            0 => format!("{} a m", clock_en(12, m, false)),
            13..=23 => format!("{} p m", clock_en(h - 12, m, false)),
            12 => format!("{} p m", clock_en(12, m, false)),
            _ => clock_en(h, m, true),
        }
    });
    t
}

/// Money, percentages, sizes, units, model numbers and the numbers left, in words.
fn english_amounts(text: &str) -> String {
    let mut t = sub(text, &MONEY_RANGE, |c| {
        let (unit, _) = currency_en(&c[1]);
        format!("{} to {}", decimal(&c[2]), money_en(&c[3], unit, None))
    });
    t = sub(&t, &MONEY, |c| match (c.get(1), c.get(3)) {
        (Some(sym), _) => {
            let (unit, minor) = currency_en(sym.as_str());
            money_en(&c[2], unit, minor)
        }
        (_, Some(amount)) => {
            let (unit, minor) = currency_en(&c[4]);
            money_en(amount.as_str(), unit, minor)
        }
        _ => c[0].to_string(),
    });
    t = sub(&t, &PERCENT_OFF, |c| format!(" {} percent off", decimal(&c[1])));
    t = sub(&t, &PERCENT, |c| format!("{} percent", decimal(&c[1])));
    t = sub(&t, &DIMENSIONS, |c| {
        let unit = c.get(3).and_then(|u| unit_en(u.as_str())).map(|(_, many)| format!(" {many}")).unwrap_or_default();
        format!("{} by {}{unit}", decimal(&c[1]), decimal(&c[2]))
    });
    t = sub(&t, &UNIT, |c| {
        let (n, u) = match c.get(1) {
            Some(n) => (n.as_str(), &c[2]),
            None => (&c[3], &c[4]),
        };
        let (one, many) = unit_en(u).unwrap_or((u, u));
        format!("{} {}", decimal(n), if n == "1" { one } else { many })
    });
    t = sub(&t, &RANGE, |c| format!("{} to {}", decimal(&c[1]), decimal(&c[2])));
    t = sub(&t, &TIMES, |c| match (c.get(1), c.get(2), c.get(3)) {
        (Some(n), _, _) => format!("{} times", cardinal(int(n.as_str()))),
        (_, Some(n), _) => format!("times {}", cardinal(int(n.as_str()))),
        (_, _, Some(n)) => format!("{} times{}", cardinal(int(n.as_str())), &c[4]),
        _ => c[0].to_string(),
    });
    t = sub(&t, &THOUSANDS, |c| match (&c[1], &c[2]) {
        ("4" | "8", "K") => format!("{} K", cardinal(int(&c[1]))),
        (n, "M") => format!("{} million", decimal(n)),
        (n, _) => format!("{} thousand", decimal(n)),
    });
    t = sub(&t, &ORDINAL, |c| ordinal(int(&c[1])));
    t = sub(&t, &SIZE, |c| match c.get(1).map(|m| m.as_str()) {
        Some("XS") => "extra small".into(),
        Some("XXS") => "double extra small".into(),
        Some("XL") => "extra large".into(),
        Some("XXL" | "2XL") => "double extra large".into(),
        Some(_) => "triple extra large".into(),
        None => {
            let size = match &c[3] {
                "S" => "small",
                "M" => "medium",
                _ => "large",
            };
            format!("{} {size}", &c[2])
        }
    });
    t = sub(&t, &MODEL, |c| {
        let tail = if c[3].is_empty() { String::new() } else { format!(" {}", spell_letters(&c[3])) };
        format!("{} {}{tail}", spell_letters(&c[1]), digits_en(&c[2]))
    });
    t = t.replace(" & ", " and ").replace('&', " and ").replace(" + ", " plus ").replace("No. ", "number ");
    t = sub(&t, &re(r"#(\d)"), |c| format!("number {}", &c[1]));
    t = sub(&t, &NUMBER, |c| {
        let s = c[0].trim_end_matches(',');
        let trailing = &c[0][s.len()..];
        // 1900-2099 on their own read as years; other numbers as cardinals.
        let n = int(s);
        let words = if !s.contains([',', '.']) && (1900..2100).contains(&n) { year(n) } else { decimal(s) };
        format!("{words}{trailing}")
    });
    t
}

/// "9:05" -> "nine oh five"; "9:00" -> "nine o'clock" (or "nine" before a m / p m).
fn clock_en(h: u64, m: u64, oclock: bool) -> String {
    match m {
        0 if oclock => format!("{} o'clock", cardinal(h)),
        0 => cardinal(h),
        1..=9 => format!("{} oh {}", cardinal(h), cardinal(m)),
        _ => format!("{} {}", cardinal(h), cardinal(m)),
    }
}

// ---------------------------------------------------------------- Chinese

const ZH_DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

/// 1005 -> 一千零五, 20000 -> 二万, 15 -> 十五, 110 -> 一百一十.
pub fn cardinal_zh(n: u64) -> String {
    fn below_10000(n: u64, leading: bool) -> String {
        let units = ["千", "百", "十", ""];
        let digits = [n / 1000, n / 100 % 10, n / 10 % 10, n % 10];
        let mut out = String::new();
        let mut zero = false;
        for (i, d) in digits.iter().enumerate() {
            if *d == 0 {
                zero = !out.is_empty();
                continue;
            }
            if zero {
                out.push('零');
                zero = false;
            }
            // 十五, not 一十五, at the start of a number.
            if !(i == 2 && *d == 1 && out.is_empty() && leading) {
                out.push_str(ZH_DIGITS[*d as usize]);
            }
            out.push_str(units[i]);
        }
        out
    }
    if n == 0 {
        return "零".into();
    }
    let sections = [(n / 100_000_000, "亿"), (n / 10_000 % 10_000, "万"), (n % 10_000, "")];
    let mut out = String::new();
    let mut pending_zero = false;
    for (value, unit) in sections {
        if value == 0 {
            pending_zero = !out.is_empty();
            continue;
        }
        if !out.is_empty() && (pending_zero || value < 1000) {
            out.push('零');
        }
        pending_zero = false;
        out.push_str(&below_10000(value, out.is_empty()));
        out.push_str(unit);
    }
    out
}

fn digits_zh(s: &str) -> String {
    s.chars().filter_map(|c| c.to_digit(10)).map(|d| ZH_DIGITS[d as usize]).collect()
}

fn decimal_zh(s: &str) -> String {
    match s.split_once('.') {
        Some((i, f)) if !f.is_empty() => format!("{}点{}", cardinal_zh(int(i)), digits_zh(f)),
        _ => cardinal_zh(int(s)),
    }
}

fn unit_zh(unit: &str) -> &'static str {
    match unit {
        "ml" | "mL" => "毫升",
        "l" | "L" => "升",
        "kg" => "公斤",
        "g" => "克",
        "mg" => "毫克",
        "cm" => "厘米",
        "mm" => "毫米",
        "m" => "米",
        "km" => "公里",
        "in" | "inch" | "\"" => "英寸",
        "mAh" => "毫安时",
        "W" => "瓦",
        "V" => "伏",
        "GB" => "G",
        "TB" => "T",
        "°C" | "℃" => "摄氏度",
        _ => "",
    }
}

static ZH_PHONE: LazyLock<Regex> = LazyLock::new(|| re(r"(?-u:\b)(\d{3,4})-(\d{3,4})-(\d{4})(?-u:\b)|(?-u:\b)(1[3-9]\d{9})(?-u:\b)"));
static ZH_YEAR: LazyLock<Regex> = LazyLock::new(|| re(r"(\d{4})年"));
static ZH_TIME: LazyLock<Regex> = LazyLock::new(|| re(r"(?-u:\b)(\d\d?):(\d\d)(?-u:\b)"));
static ZH_MONEY: LazyLock<Regex> =
    LazyLock::new(|| re(r"(¥|￥)\s?(\d[\d,]*(?:\.\d+)?)|(US\$|\$)\s?(\d[\d,]*(?:\.\d+)?)|(€)\s?(\d[\d,]*(?:\.\d+)?)"));
static ZH_DISCOUNT: LazyLock<Regex> = LazyLock::new(|| re(r"(\d)\.(\d)折"));
static ZH_PERCENT: LazyLock<Regex> = LazyLock::new(|| re(r"(\d+(?:\.\d+)?)\s?%"));
static ZH_RANGE: LazyLock<Regex> = LazyLock::new(|| re(r"(\d+(?:\.\d+)?)\s?(?:-|–|~|～)\s?(\d+(?:\.\d+)?)"));
static ZH_UNIT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(\d+(?:\.\d+)?)\s?(mAh|ml|mL|mg|kg|km|cm|mm|inch|GB|TB|°C|℃|g|l|L|m|W|V)(?:(?-u:\b)|$)"));
static ZH_TIMES: LazyLock<Regex> = LazyLock::new(|| re(r"(?-u:\b)(\d+)[xX×]|[xX×](\d+)(?-u:\b)"));
static ZH_TWO: LazyLock<Regex> = LazyLock::new(|| re(r"(^|[^\d.])2(个|件|只|瓶|双|盒|包|袋|支|张|台|套|位|种|条|斤|公斤|倍|天|次|年|小时|分钟)"));
static ZH_MODEL: LazyLock<Regex> = LazyLock::new(|| re(r"(?-u:\b)([A-Za-z]{1,4})-?(\d{2,6})(?-u:\b)"));

fn chinese(text: &str) -> String {
    let mut t = text.replace('＄', "$");
    t = sub(&t, &EMAIL, |c| format!("{} at {}", c[1].replace('.', "点"), c[2].replace('.', "点")));
    t = sub(&t, &URL, |c| c[1].trim_end_matches('/').replace("www.", "w w w 点").replace('.', "点").replace('/', "斜杠"));
    t = sub(&t, &ZH_PHONE, |c| {
        let groups: Vec<String> = (1..=4).filter_map(|i| c.get(i)).map(|m| digits_zh(m.as_str())).collect();
        groups.join("，")
    });
    t = t.replace("双11", "双十一").replace("双12", "双十二");
    t = sub(&t, &ZH_YEAR, |c| format!("{}年", digits_zh(&c[1])));
    t = sub(&t, &ZH_TIME, |c| match int(&c[2]) {
        0 => format!("{}点", cardinal_zh(int(&c[1]))),
        m if m < 10 => format!("{}点零{}分", cardinal_zh(int(&c[1])), cardinal_zh(m)),
        m => format!("{}点{}分", cardinal_zh(int(&c[1])), cardinal_zh(m)),
    });
    t = sub(&t, &ZH_MONEY, |c| {
        let (amount, unit) = match (c.get(2), c.get(4), c.get(6)) {
            (Some(a), _, _) => (a.as_str(), "元"),
            (_, Some(a), _) => (a.as_str(), "美元"),
            (_, _, Some(a)) => (a.as_str(), "欧元"),
            _ => return c[0].to_string(),
        };
        format!("{}{unit}", decimal_zh(amount))
    });
    t = sub(&t, &ZH_DISCOUNT, |c| format!("{}{}折", ZH_DIGITS[int(&c[1]) as usize], ZH_DIGITS[int(&c[2]) as usize]));
    t = sub(&t, &ZH_PERCENT, |c| format!("百分之{}", decimal_zh(&c[1])));
    t = sub(&t, &ZH_RANGE, |c| format!("{}到{}", decimal_zh(&c[1]), decimal_zh(&c[2])));
    t = sub(&t, &ZH_UNIT, |c| {
        let n = if &c[1] == "2" && c[2].starts_with('k') { "两".to_string() } else { decimal_zh(&c[1]) };
        format!("{n}{}", unit_zh(&c[2]))
    });
    t = sub(&t, &ZH_TIMES, |c| match c.get(1).or(c.get(2)) {
        Some(n) if n.as_str() == "2" => "两倍".into(),
        Some(n) => format!("{}倍", cardinal_zh(int(n.as_str()))),
        None => c[0].to_string(),
    });
    t = sub(&t, &ZH_TWO, |c| format!("{}两{}", &c[1], &c[2]));
    t = sub(&t, &ZH_MODEL, |c| format!("{}{}", c[1].to_uppercase(), digits_zh(&c[2])));
    t = sub(&t, &NUMBER, |c| decimal_zh(&c[0]));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a host writes -> what the voice is given.
    const TABLE: &[(&str, &str)] = &[
        // Prices and currencies
        ("Only $19.99 today", "Only nineteen dollars ninety-nine today"),
        ("It's $5.", "It's five dollars."),
        ("just $1", "just one dollar"),
        ("now $0.99", "now ninety-nine cents"),
        ("was $1,299.00", "was one thousand two hundred ninety-nine dollars"),
        ("from €5", "from five euros"),
        ("£3.50 each", "three pounds fifty each"),
        ("¥199 only", "one hundred ninety-nine yuan only"),
        ("19.99 RMB in China", "nineteen point nine nine yuan in China"),
        ("$10-$20 gifts", "ten to twenty dollars gifts"),
        ("$15 to $25", "fifteen to twenty-five dollars"),
        // Percentages and discounts
        ("20% off", "twenty percent off"),
        ("save 12.5%", "save twelve point five percent"),
        ("prices -30% today", "prices thirty percent off today"),
        ("1/2 price", "one half price"),
        ("3/4 full", "three quarters full"),
        // Ranges
        ("ships in 3-5 days", "ships in three to five days"),
        ("ages 8–12", "ages eight to twelve"),
        // Multipliers and deals
        ("2x faster", "two times faster"),
        ("pack x3", "pack times three"),
        ("buy 2 get 1 free", "buy two get one free"),
        ("BOGO weekend", "buy one get one weekend"),
        // Units
        ("500ml bottle", "five hundred milliliters bottle"),
        ("1 ml sample", "one milliliter sample"),
        ("weighs 2kg", "weighs two kilograms"),
        ("just 250g", "just two hundred fifty grams"),
        ("1.5L jug", "one point five liters jug"),
        ("30cm wide", "thirty centimeters wide"),
        ("a 15 inch laptop", "a fifteen inches laptop"),
        ("a 27\" screen", "a twenty-seven inches screen"),
        ("5000mAh battery", "five thousand milliamp hours battery"),
        ("65W charger", "sixty-five watts charger"),
        ("256GB storage", "two hundred fifty-six gigabytes storage"),
        ("12 oz cup", "twelve ounces cup"),
        ("25°C water", "twenty-five degrees Celsius water"),
        ("40 x 60 cm", "forty by sixty centimeters"),
        // Sizes
        ("in XL and XXL", "in extra large and double extra large"),
        ("size M fits most", "size medium fits most"),
        ("XS to 3XL", "extra small to triple extra large"),
        // Model numbers
        ("the RX-780 blender", "the R X seven eight zero blender"),
        ("model KB2045 keyboard", "model K B two zero four five keyboard"),
        // Phone numbers, URLs, e-mail
        ("call 800-555-0199", "call eight zero zero, five five five, zero one nine nine"),
        ("call (555) 123-4567 now", "call five five five, one two three, four five six seven now"),
        ("visit www.shop.com today", "visit w w w dot shop dot com today"),
        ("go to https://aurora.store/sale", "go to aurora dot store slash sale"),
        ("mail help@shop.com", "mail help at shop dot com"),
        // Times and dates
        ("live at 8pm", "live at eight p m"),
        ("from 10:30am", "from ten thirty a m"),
        ("ends 20:00", "ends eight p m"),
        ("opens 9:05", "opens nine oh five"),
        ("at 9:00", "at nine o'clock"),
        ("sale on 11/11", "sale on November eleventh"),
        ("until 12/25/2026", "until December twenty-fifth, twenty twenty-six"),
        ("since 2024-11-11", "since November eleventh, twenty twenty-four"),
        ("from Nov 11", "from November eleventh"),
        ("the 1st and 22nd", "the first and twenty-second"),
        // Numbers, counts, symbols
        ("over 10k sold", "over ten thousand sold"),
        ("1.2M fans", "one point two million fans"),
        ("in 4K", "in four K"),
        ("made in 2025", "made in twenty twenty-five"),
        ("1,000 pieces", "one thousand pieces"),
        ("#1 seller", "number one seller"),
        ("salt & pepper", "salt and pepper"),
        ("open 24/7", "open twenty-four seven"),
        ("w/ free case", "with free case"),
        // Chinese
        ("现价¥199", "现价一百九十九元"),
        ("只要19.99元", "只要十九点九九元"),
        ("立减$5", "立减五美元"),
        ("全场8折", "全场八折"),
        ("限时8.5折", "限时八五折"),
        ("优惠20%", "优惠百分之二十"),
        ("满200减30", "满二百减三十"),
        ("买2送1", "买二送一"),
        ("买2件更划算", "买两件更划算"),
        ("500ml大容量", "五百毫升大容量"),
        ("重2kg", "重两公斤"),
        ("长30cm", "长三十厘米"),
        ("3-5天到货", "三到五天到货"),
        ("晚上20:00开抢", "晚上二十点开抢"),
        ("10:30准时开播", "十点三十分准时开播"),
        ("2024年新款", "二零二四年新款"),
        ("11月11日", "十一月十一日"),
        ("双11狂欢", "双十一狂欢"),
        ("客服电话400-123-4567", "客服电话四零零，一二三，四五六七"),
        ("已售10000件", "已售一万件"),
        ("库存1005个", "库存一千零五个"),
        ("续航提升2x", "续航提升两倍"),
        ("型号RX-780", "型号RX七八零"),
    ];

    #[test]
    fn commerce_text_reads_right() {
        let mut wrong = Vec::new();
        for (input, want) in TABLE {
            let got = normalize(input);
            if got != *want {
                wrong.push(format!("{input:?}\n   got  {got:?}\n   want {want:?}"));
            }
        }
        assert!(TABLE.len() >= 60);
        assert!(wrong.is_empty(), "{} of {} wrong:\n{}", wrong.len(), TABLE.len(), wrong.join("\n"));
    }

    #[test]
    fn numbers_in_words() {
        assert_eq!(cardinal(0), "zero");
        assert_eq!(cardinal(115), "one hundred fifteen");
        assert_eq!(cardinal(2_000_021), "two million twenty-one");
        assert_eq!(ordinal(12), "twelfth");
        assert_eq!(ordinal(40), "fortieth");
        assert_eq!(cardinal_zh(10), "十");
        assert_eq!(cardinal_zh(110), "一百一十");
        assert_eq!(cardinal_zh(100_010), "十万零一十");
        assert_eq!(cardinal_zh(120_000_000), "一亿二千万");
        assert_eq!(cardinal_zh(1_000_005), "一百万零五");
    }
}
