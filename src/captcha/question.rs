//! The accessible alternative to the picture: a short sum in words ("What is seven plus
//! four?") that a screen reader reads out and anyone can answer without seeing. Its answer
//! may be typed in digits or words.
//!
//! Strength: weak. There are a few hundred questions and a program that parses English sums
//! answers them all; it stops bots that post the sign-in form blindly, not an attacker who
//! writes code for Roster. The lockout and address throttling stay the real limit on guessing.

use rand::Rng;

const UNITS: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

/// The largest answer a question can have (ten times ten).
const LARGEST: u32 = 100;

/// A number from 0 to 100 in English words ("forty-two").
pub fn in_words(n: u32) -> String {
    match n {
        0..=19 => UNITS[n as usize].to_string(),
        20..=99 if n.is_multiple_of(10) => TENS[(n / 10) as usize].to_string(),
        20..=99 => format!("{}-{}", TENS[(n / 10) as usize], UNITS[(n % 10) as usize]),
        _ => "one hundred".to_string(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub text: String,
    pub answer: u32,
}

/// A sum of two numbers from one to ten: plus, minus (never below zero) or times.
pub fn generate(rng: &mut impl Rng) -> Question {
    let (a, b) = (rng.gen_range(1..=10u32), rng.gen_range(1..=10u32));
    let (text, answer) = match rng.gen_range(0..3) {
        0 => (format!("What is {} plus {}?", in_words(a), in_words(b)), a + b),
        1 => {
            let (big, small) = if a >= b { (a, b) } else { (b, a) };
            (format!("What is {} minus {}?", in_words(big), in_words(small)), big - small)
        }
        _ => (format!("What is {} times {}?", in_words(a), in_words(b)), a * b),
    };
    Question { text, answer }
}

/// How an answer is compared: case, spaces and hyphens do not matter, and a number written in
/// words counts as its digits ("Forty two" and "42" are both "42"). The picture's text goes
/// through the same function, so one comparison serves both.
pub fn normalise(answer: &str) -> String {
    let squeezed: String =
        answer.chars().filter(|c| !c.is_whitespace() && *c != '-' && *c != '_').flat_map(char::to_lowercase).collect();
    for n in 0..=LARGEST {
        if in_words(n).replace([' ', '-'], "") == squeezed {
            return n.to_string();
        }
    }
    squeezed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_words() {
        assert_eq!(in_words(0), "zero");
        assert_eq!(in_words(13), "thirteen");
        assert_eq!(in_words(40), "forty");
        assert_eq!(in_words(42), "forty-two");
        assert_eq!(in_words(100), "one hundred");
    }

    #[test]
    fn answers_are_compared_without_case_spaces_or_hyphens_and_words_are_numbers() {
        assert_eq!(normalise(" Forty two "), "42");
        assert_eq!(normalise("forty-two"), "42");
        assert_eq!(normalise("FORTYTWO"), "42");
        assert_eq!(normalise("42"), "42");
        assert_eq!(normalise(" 4 2"), "42");
        assert_eq!(normalise("One Hundred"), "100");
        assert_eq!(normalise("k7 Hp3"), "k7hp3");
        assert_eq!(normalise(""), "");
        assert_ne!(normalise("forty three"), normalise("42"));
    }

    #[test]
    fn every_question_is_in_words_and_its_answer_fits() {
        let mut rng = rand::thread_rng();
        for _ in 0..500 {
            let q = generate(&mut rng);
            assert!(q.text.starts_with("What is ") && q.text.ends_with('?'), "{}", q.text);
            assert!(!q.text.chars().any(|c| c.is_ascii_digit()), "a screen reader reads words: {}", q.text);
            assert!(q.answer <= LARGEST);
            // The question answers itself when parsed: both operands are words we know.
            let words: Vec<&str> = q.text.trim_start_matches("What is ").trim_end_matches('?').split(' ').collect();
            let (a, op, b) =
                (normalise(words[0]).parse::<u32>().unwrap(), words[1], normalise(words[2]).parse::<u32>().unwrap());
            let expected = match op {
                "plus" => a + b,
                "minus" => a - b,
                "times" => a * b,
                other => panic!("unknown operation {other}"),
            };
            assert_eq!(q.answer, expected, "{}", q.text);
        }
    }
}
