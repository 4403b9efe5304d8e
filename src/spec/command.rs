//! From the words the user typed to the argv the container executes.
//!
//! Bocker passes its command to a shell, so `bocker run IMG 'echo a && ls'`
//! works. Docker executes the words as an argv. We do both: one word that
//! contains a space goes to `/bin/sh -c`; anything else is an argv.

/// The argv to execute for the words typed after the image.
pub fn argv_for(words: &[String]) -> Vec<String> {
    match words {
        [only] if only.contains(char::is_whitespace) => {
            vec!["/bin/sh".to_string(), "-c".to_string(), only.clone()]
        }
        _ => words.to_vec(),
    }
}

/// The command as typed, for `ps`: words with spaces are quoted again.
pub fn display(words: &[String]) -> String {
    if let [only] = words {
        return only.clone();
    }
    words
        .iter()
        .map(|word| {
            if word.is_empty() || word.contains(char::is_whitespace) {
                format!("'{word}'")
            } else {
                word.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn one_word_with_spaces_goes_to_the_shell() {
        assert_eq!(
            argv_for(&words(&["echo foo"])),
            words(&["/bin/sh", "-c", "echo foo"])
        );
    }

    #[test]
    fn several_words_are_an_argv() {
        assert_eq!(argv_for(&words(&["echo", "a b"])), words(&["echo", "a b"]));
        assert_eq!(display(&words(&["echo", "a b"])), "echo 'a b'");
    }
}
