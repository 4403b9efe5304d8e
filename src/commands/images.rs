//! `bocker images`: the IMAGE_ID / SOURCE table.

use anyhow::Result;

use crate::state::Store;
use crate::table;

/// With `digests` (`images --digests`, chapter 7), a third column: the
/// manifest digest of pulled images.
pub fn images(store: &Store, digests: bool) -> Result<u8> {
    let rows: Vec<Vec<String>> = store
        .images()?
        .into_iter()
        .map(|image| {
            let mut row = vec![image.id, image.source];
            if digests {
                row.push(image.digest.unwrap_or_else(|| "<none>".to_string()));
            }
            row
        })
        .collect();
    let headers: &[&str] = if digests {
        &["IMAGE_ID", "SOURCE", "DIGEST"]
    } else {
        &["IMAGE_ID", "SOURCE"]
    };
    table::print(&mut std::io::stdout().lock(), headers, &rows)?;
    Ok(0)
}
