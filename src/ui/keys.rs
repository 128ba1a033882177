//! Keys as a terminal sends them to the program in it (xterm's encoding),
//! for the pane the keyboard was handed to with `i`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The bytes for `key`; None for keys a terminal sends nothing for.
/// `application_cursor`: the program asked for `ESC O` arrows (DECCKM).
pub fn encode(key: KeyEvent, application_cursor: bool) -> Option<Vec<u8>> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let cursor = |letter: u8| -> Vec<u8> {
        match application_cursor {
            true => vec![0x1b, b'O', letter],
            false => vec![0x1b, b'[', letter],
        }
    };
    let mut bytes = match key.code {
        KeyCode::Char(c) if ctrl => vec![control(c)?],
        KeyCode::Char(c) => c.to_string().into_bytes(),
        KeyCode::Enter => vec![b'\r'],
        KeyCode::Backspace => vec![0x7f],
        KeyCode::Tab => vec![b'\t'],
        KeyCode::BackTab => b"\x1b[Z".to_vec(),
        KeyCode::Esc => vec![0x1b],
        KeyCode::Up => cursor(b'A'),
        KeyCode::Down => cursor(b'B'),
        KeyCode::Right => cursor(b'C'),
        KeyCode::Left => cursor(b'D'),
        KeyCode::Home => cursor(b'H'),
        KeyCode::End => cursor(b'F'),
        KeyCode::Insert => b"\x1b[2~".to_vec(),
        KeyCode::Delete => b"\x1b[3~".to_vec(),
        KeyCode::PageUp => b"\x1b[5~".to_vec(),
        KeyCode::PageDown => b"\x1b[6~".to_vec(),
        KeyCode::F(n) => function_key(n)?,
        _ => return None,
    };
    if alt {
        bytes.insert(0, 0x1b);
    }
    Some(bytes)
}

/// Ctrl with a key: the key's control code (Ctrl-C is 0x03).
fn control(c: char) -> Option<u8> {
    match c.to_ascii_lowercase() {
        c @ 'a'..='z' => Some(c as u8 - b'a' + 1),
        ' ' | '@' | '2' => Some(0),
        '[' | '3' => Some(0x1b),
        '\\' | '4' => Some(0x1c),
        ']' | '5' => Some(0x1d),
        '^' | '6' => Some(0x1e),
        '_' | '7' | '/' => Some(0x1f),
        _ => None,
    }
}

fn function_key(n: u8) -> Option<Vec<u8>> {
    let sequence: &[u8] = match n {
        1 => b"\x1bOP",
        2 => b"\x1bOQ",
        3 => b"\x1bOR",
        4 => b"\x1bOS",
        5 => b"\x1b[15~",
        6 => b"\x1b[17~",
        7 => b"\x1b[18~",
        8 => b"\x1b[19~",
        9 => b"\x1b[20~",
        10 => b"\x1b[21~",
        11 => b"\x1b[23~",
        12 => b"\x1b[24~",
        _ => return None,
    };
    Some(sequence.to_vec())
}

/// A paste, bracketed when the program asked for it (so a shell or an
/// editor takes it as text, not as typed commands).
pub fn paste(text: &str, bracketed: bool) -> Vec<u8> {
    // Terminals send newlines in a paste as Enter does.
    let text = text.replace("\r\n", "\r").replace('\n', "\r");
    match bracketed {
        true => [b"\x1b[200~", text.as_bytes(), b"\x1b[201~"].concat(),
        false => text.into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn keys_are_sent_as_xterm_sends_them() {
        let none = KeyModifiers::NONE;
        let bytes = |k, m, app| encode(key(k, m), app).unwrap();
        assert_eq!(bytes(KeyCode::Char('h'), none, false), b"h");
        assert_eq!(bytes(KeyCode::Char('é'), none, false), "é".as_bytes());
        assert_eq!(bytes(KeyCode::Char('c'), KeyModifiers::CONTROL, false), [3]);
        assert_eq!(bytes(KeyCode::Enter, none, false), b"\r");
        assert_eq!(bytes(KeyCode::Up, none, false), b"\x1b[A");
        assert_eq!(bytes(KeyCode::Up, none, true), b"\x1bOA");
        assert_eq!(
            bytes(KeyCode::Char('b'), KeyModifiers::ALT, false),
            b"\x1bb"
        );
        assert_eq!(bytes(KeyCode::F(5), none, false), b"\x1b[15~");
        assert_eq!(paste("a\nb", true), b"\x1b[200~a\rb\x1b[201~");
        assert_eq!(paste("a\r\nb", false), b"a\rb");
    }
}
