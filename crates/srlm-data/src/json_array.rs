//! Streaming the elements of one top-level JSON array without loading the file whole, and
//! tolerating a file cut off part-way (the last, unfinished element is reported, not an error).

use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};

/// One step of the scan.
#[derive(Debug)]
pub(crate) enum ArrayItem {
    /// A complete element's bytes and the line it starts on (1-based).
    Element {
        /// The element's JSON text.
        bytes: Vec<u8>,
        /// Its first line.
        line: usize,
    },
    /// The file ended inside an element (or before the closing `]`), which started on `line`.
    Truncated {
        /// Where the unfinished element started.
        line: usize,
    },
}

/// Splits a JSON array into its elements by tracking nesting and strings; each element is
/// then parsed on its own, so one bad element names its line.
pub(crate) struct JsonArrayScanner {
    path: PathBuf,
    reader: Box<dyn BufRead + Send>,
    line: usize,
    opened: bool,
    done: bool,
}

#[derive(Default)]
struct ElementState {
    bytes: Vec<u8>,
    line: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl JsonArrayScanner {
    pub(crate) fn new(path: &Path, reader: Box<dyn BufRead + Send>) -> Self {
        JsonArrayScanner {
            path: path.to_path_buf(),
            reader,
            line: 1,
            opened: false,
            done: false,
        }
    }

    fn io(&self, source: std::io::Error) -> DataError {
        DataError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn not_an_array(&self, byte: u8) -> DataError {
        DataError::BadLine {
            path: self.path.clone(),
            line: self.line,
            reason: format!("expected a JSON array ('['), found {:?}", char::from(byte)),
        }
    }

    /// The next element, `Truncated` once if the file is cut off, then `None`.
    pub(crate) fn next_item(&mut self) -> Result<Option<ArrayItem>> {
        if self.done {
            return Ok(None);
        }
        let mut element: Option<ElementState> = None;
        loop {
            let buffer = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) => return Err(self.io(e)),
            };
            if buffer.is_empty() {
                self.done = true;
                if !self.opened {
                    return Err(DataError::Empty {
                        path: self.path.clone(),
                    });
                }
                return Ok(Some(ArrayItem::Truncated {
                    line: element.map_or(self.line, |e| e.line),
                }));
            }
            let mut used = 0;
            let mut finished: Option<ArrayItem> = None;
            let mut error = None;
            for &byte in buffer {
                used += 1;
                let newline = byte == b'\n';
                if !self.opened {
                    match byte {
                        b'[' => self.opened = true,
                        b' ' | b'\t' | b'\r' | b'\n' | 0xEF | 0xBB | 0xBF => {}
                        other => {
                            error = Some(other);
                            break;
                        }
                    }
                } else if let Some(state) = element.as_mut() {
                    if state.in_string {
                        state.bytes.push(byte);
                        if state.escaped {
                            state.escaped = false;
                        } else if byte == b'\\' {
                            state.escaped = true;
                        } else if byte == b'"' {
                            state.in_string = false;
                        }
                    } else {
                        match byte {
                            b',' | b']' if state.depth == 0 => {
                                self.done = byte == b']';
                                finished = element.take().map(|s| ArrayItem::Element {
                                    bytes: s.bytes,
                                    line: s.line,
                                });
                            }
                            _ => {
                                state.bytes.push(byte);
                                match byte {
                                    b'"' => state.in_string = true,
                                    b'{' | b'[' => state.depth += 1,
                                    b'}' | b']' => {
                                        state.depth = state.depth.saturating_sub(1);
                                        if state.depth == 0 {
                                            finished = element.take().map(|s| ArrayItem::Element {
                                                bytes: s.bytes,
                                                line: s.line,
                                            });
                                        }
                                    }
                                    _ => {}
                                }
                            }
                        }
                    }
                } else {
                    match byte {
                        b' ' | b'\t' | b'\r' | b'\n' | b',' => {}
                        b']' => {
                            self.done = true;
                        }
                        _ => {
                            let mut state = ElementState {
                                line: self.line,
                                ..ElementState::default()
                            };
                            state.bytes.push(byte);
                            match byte {
                                b'"' => state.in_string = true,
                                b'{' | b'[' => state.depth = 1,
                                _ => {}
                            }
                            element = Some(state);
                        }
                    }
                }
                if newline {
                    self.line += 1;
                }
                if finished.is_some() || self.done {
                    break;
                }
            }
            self.reader.consume(used);
            if let Some(byte) = error {
                self.done = true;
                return Err(self.not_an_array(byte));
            }
            if finished.is_some() {
                return Ok(finished);
            }
            if self.done {
                return Ok(None);
            }
        }
    }
}
