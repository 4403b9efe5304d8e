//! Plain text tables for `images` and `ps`.

use std::io::{self, Write};

use crate::escape::printable;

/// Print `header` and `rows` as left-aligned columns separated by spaces.
/// Cells are escaped (see escape.rs): one row is always one line.
pub fn print(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|cell| printable(cell).into_owned())
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}   "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_a_newline_in_a_cell_stays_in_its_row() {
        let mut out = Vec::new();
        let rows = vec![
            vec!["img_1".to_string(), "/a".to_string()],
            vec!["img_22".to_string(), "/evil\nimg_fake   /x".to_string()],
        ];
        print(&mut out, &["IMAGE_ID", "SOURCE"], &rows).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(
            text.starts_with("IMAGE_ID   SOURCE\nimg_1      /a\n"),
            "{text}"
        );
    }
}
