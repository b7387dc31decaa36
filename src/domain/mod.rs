//! Pure types and rules of the Akool image-to-video dialect. No I/O lives here: everything that
//! crosses the wire is parsed into these types once, at the edge, and nothing downstream re-checks.

pub mod catalogue;
pub mod emulation;
pub mod faults;
pub mod fields;
pub mod file_name;
pub mod id_list;
pub mod ids;
pub mod motion;
pub mod spec;
pub mod status;
pub mod video;

pub use id_list::{IdList, IdListError};
pub use ids::ObjectId;
pub use status::VideoStatus;
pub use video::{Video, VideoKind};
