//! `bocker images`: the IMAGE_ID / SOURCE table.

use anyhow::Result;

use crate::state::Store;
use crate::table;

pub fn images(store: &Store) -> Result<u8> {
    let rows: Vec<Vec<String>> = store
        .images()?
        .into_iter()
        .map(|image| vec![image.id, image.source])
        .collect();
    table::print(
        &mut std::io::stdout().lock(),
        &["IMAGE_ID", "SOURCE"],
        &rows,
    )?;
    Ok(0)
}
