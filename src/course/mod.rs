//! The course machinery: which chapter's code is compiled in (the chapter
//! switch), and the one-line report of an exercise that is not done yet.

pub mod chapters;
pub mod exercise;
