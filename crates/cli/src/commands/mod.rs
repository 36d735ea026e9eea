//! One module per subcommand; each returns the text to print.

pub mod accuracy;
pub mod calibrate;
pub mod catalogs;
pub mod embedders;
pub mod estimate;
pub mod hw;
pub mod image;
pub mod inspect;
pub mod need;
pub mod plan;
pub mod recommend;
pub mod recommend_media;
pub mod serve;
pub mod speech;
pub mod stack;
pub mod suggest;
