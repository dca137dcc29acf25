use std::fmt;

/// Which kind of failure, so front ends can map it to exit codes or HTTP statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A flag, prompt or value the user gave is wrong.
    InvalidInput,
    /// The character image cannot be read, decoded or separated from its background.
    Image,
    /// An output cannot be written (exists, unwritable, unsupported extension).
    Output,
    /// A model, its weights or its configuration are missing or malformed.
    Model,
    /// The request is valid but this build or engine does not support it.
    Unsupported,
    /// A bug: something Kinema itself got wrong.
    Internal,
}

/// A failure with a message saying what is wrong and, where we know, how to fix it.
#[derive(Debug)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
    pub source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
            source: None,
        }
    }

    /// A bad user-supplied value, with the fix.
    pub fn invalid(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidInput, message).with_hint(hint)
    }

    pub fn image(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Image, message)
    }

    pub fn output(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Output, message)
    }

    pub fn model(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Model, message)
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unsupported, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Process exit code: 2 for what the user can fix in the request, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            ErrorKind::InvalidInput | ErrorKind::Image | ErrorKind::Output => 2,
            ErrorKind::Model | ErrorKind::Unsupported => 3,
            ErrorKind::Internal => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(src) = &self.source {
            write!(f, ": {src}")?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_includes_hint_on_its_own_line() {
        let e = Error::invalid("fps 0 is out of range", "use --fps between 1 and 120");
        assert_eq!(
            e.to_string(),
            "fps 0 is out of range\n  hint: use --fps between 1 and 120"
        );
        assert_eq!(e.exit_code(), 2);
    }
}
