//! Encryption to a passphrase (age's scrypt recipient), for what leaves the
//! node to be kept elsewhere: a backup. A file made here opens with the
//! `age` command line tool too (`age --decrypt`).

use std::io::{Read, Write};

use age::secrecy::SecretString;

use crate::Error;

/// The shortest passphrase taken: scrypt slows guessing, it does not make a
/// short passphrase strong.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

fn secret(passphrase: &str) -> Result<SecretString, Error> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(Error::BadKey {
            what: "passphrase",
            reason: format!("shorter than {MIN_PASSPHRASE_CHARS} characters"),
        });
    }
    Ok(SecretString::from(passphrase.to_owned()))
}

/// A writer that encrypts what is written to it to `passphrase` and writes
/// the ciphertext to `out`; call [`PassphraseWriter::finish`] at the end
/// (without it the file does not open).
pub struct PassphraseWriter<W: Write>(age::stream::StreamWriter<W>);

impl<W: Write> PassphraseWriter<W> {
    /// Starts the encrypted stream (the scrypt work happens here).
    pub fn new(out: W, passphrase: &str) -> Result<Self, Error> {
        let encryptor = age::Encryptor::with_user_passphrase(secret(passphrase)?);
        let writer = encryptor
            .wrap_output(out)
            .map_err(|e| Error::Encrypt(e.to_string()))?;
        Ok(PassphraseWriter(writer))
    }

    /// Ends the stream and returns the underlying writer.
    pub fn finish(self) -> Result<W, Error> {
        self.0.finish().map_err(|e| Error::Encrypt(e.to_string()))
    }
}

impl<W: Write> Write for PassphraseWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// A reader of what `input` holds encrypted to `passphrase`. A wrong
/// passphrase, or a file that is not encrypted to a passphrase, fails here;
/// a changed or cut ciphertext fails while reading.
pub fn passphrase_reader<R: Read>(input: R, passphrase: &str) -> Result<impl Read, Error> {
    let decryptor = age::Decryptor::new(input).map_err(|e| Error::Decrypt(e.to_string()))?;
    if !decryptor.is_scrypt() {
        return Err(Error::Decrypt(
            "not encrypted to a passphrase (it is for age recipients)".into(),
        ));
    }
    let identity = age::scrypt::Identity::new(SecretString::from(passphrase.to_owned()));
    decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| Error::Decrypt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS: &str = "correct horse battery staple";

    fn encrypt(plain: &[u8], pass: &str) -> Vec<u8> {
        let mut w = PassphraseWriter::new(Vec::new(), pass).unwrap();
        w.write_all(plain).unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn opens_with_the_passphrase_and_not_without() {
        let plain = vec![7u8; 200_000];
        let sealed = encrypt(&plain, PASS);
        assert!(!sealed.windows(64).any(|w| w == &plain[..64]));
        let mut out = Vec::new();
        passphrase_reader(&sealed[..], PASS)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, plain);
        let wrong = passphrase_reader(&sealed[..], "another long passphrase");
        assert!(wrong.is_err());
    }

    #[test]
    fn a_cut_or_changed_file_does_not_read_as_complete() {
        let plain = vec![1u8; 100_000];
        let sealed = encrypt(&plain, PASS);
        let cut = &sealed[..sealed.len() - 100];
        let mut out = Vec::new();
        let read = passphrase_reader(cut, PASS).and_then(|mut r| {
            r.read_to_end(&mut out)
                .map_err(|e| Error::Decrypt(e.to_string()))
        });
        assert!(read.is_err(), "a cut stream must not read to its end");
        let mut changed = sealed.clone();
        let at = changed.len() / 2;
        changed[at] ^= 1;
        let mut out = Vec::new();
        let read = passphrase_reader(&changed[..], PASS).and_then(|mut r| {
            r.read_to_end(&mut out)
                .map_err(|e| Error::Decrypt(e.to_string()))
        });
        assert!(read.is_err(), "a changed byte must not read");
    }

    #[test]
    fn short_passphrases_and_recipient_files_are_refused() {
        let err = PassphraseWriter::new(Vec::new(), "short").err().unwrap();
        assert!(err.to_string().contains("passphrase"), "{err}");
        let recipient = crate::AgeIdentity::generate().to_public();
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .unwrap();
        let mut bytes = Vec::new();
        let mut w = encryptor.wrap_output(&mut bytes).unwrap();
        w.write_all(b"x").unwrap();
        w.finish().unwrap();
        let err = passphrase_reader(&bytes[..], PASS).err().unwrap();
        assert!(err.to_string().contains("passphrase"), "{err}");
    }
}
