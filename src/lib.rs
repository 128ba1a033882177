//! devloop: watch library sources, build, promote the output atomically, and
//! supervise the dev servers that import it.

pub mod promote;
