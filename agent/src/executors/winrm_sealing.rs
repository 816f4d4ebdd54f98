//! WinRM message encryption over HTTP (MS-WSMV 2.2.9.1.1, "HTTP-SPNEGO-session-
//! encrypted"): after an NTLM handshake each SOAP envelope travels sealed in a
//! `multipart/encrypted` body — a part naming the original length, then the signature
//! length, the signature and the sealed bytes.

use super::ntlm::{NtlmError, Security};

pub const PROTOCOL: &str = "application/HTTP-SPNEGO-session-encrypted";
pub const CONTENT_TYPE: &str = "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\"";
const BOUNDARY: &[u8] = b"--Encrypted Boundary";
const OCTET_STREAM: &[u8] = b"\tContent-Type: application/octet-stream\r\n";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealingError {
    #[error("encrypted WinRM message: {0}")]
    Malformed(&'static str),
    #[error(transparent)]
    Ntlm(#[from] NtlmError),
}

/// Whether a `Content-Type` says the body is sealed.
pub fn is_sealed(content_type: &str) -> bool {
    content_type.contains(PROTOCOL)
}

/// Seals a SOAP envelope into the multipart body.
pub fn seal(security: &mut Security, soap: &[u8]) -> Vec<u8> {
    let (signature, sealed) = security.wrap(soap);
    let mut body = Vec::with_capacity(soap.len() + 256);
    body.extend_from_slice(BOUNDARY);
    body.extend_from_slice(b"\r\n\tContent-Type: ");
    body.extend_from_slice(PROTOCOL.as_bytes());
    body.extend_from_slice(
        b"\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=",
    );
    body.extend_from_slice(soap.len().to_string().as_bytes());
    body.extend_from_slice(b"\r\n");
    body.extend_from_slice(BOUNDARY);
    body.extend_from_slice(b"\r\n");
    body.extend_from_slice(OCTET_STREAM);
    body.extend_from_slice(&(signature.len() as u32).to_le_bytes());
    body.extend_from_slice(&signature);
    body.extend_from_slice(&sealed);
    body.extend_from_slice(BOUNDARY);
    body.extend_from_slice(b"--\r\n");
    body
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Opens a sealed multipart body: the SOAP envelope, its signature checked.
pub fn open(security: &mut Security, body: &[u8]) -> Result<Vec<u8>, SealingError> {
    let at = find(body, b"Length=").ok_or(SealingError::Malformed("no Length"))? + 7;
    let digits = body[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    let length: usize = std::str::from_utf8(&body[at..at + digits])
        .ok()
        .and_then(|d| d.parse().ok())
        .ok_or(SealingError::Malformed("bad Length"))?;
    let start = at
        + find(&body[at..], OCTET_STREAM).ok_or(SealingError::Malformed("no octet-stream part"))?
        + OCTET_STREAM.len();
    let rest = &body[start..];
    let sig_len = rest
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or(SealingError::Malformed("cut short"))?;
    let signature = rest
        .get(4..4 + sig_len)
        .ok_or(SealingError::Malformed("cut short"))?;
    // RC4 keeps the length: the sealed bytes are exactly the original length.
    let sealed = rest
        .get(4 + sig_len..4 + sig_len + length)
        .ok_or(SealingError::Malformed("shorter than its Length"))?;
    Ok(security.unwrap(signature, sealed)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_envelope_opens_on_the_other_side_and_tampering_is_refused() {
        let key = [9u8; 16];
        let (mut client, mut server) = (Security::new(&key, true), Security::new(&key, false));
        let soap = "<s:Envelope>ünïcode</s:Envelope>".as_bytes();
        let body = seal(&mut client, soap);
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(
            "--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n"
        ));
        assert!(text.contains(&format!("Length={}\r\n", soap.len())));
        assert!(body.ends_with(b"--Encrypted Boundary--\r\n"));
        assert!(find(&body, soap).is_none(), "the envelope is not in clear");
        assert_eq!(open(&mut server, &body).unwrap(), soap);

        let mut bad = seal(&mut client, soap);
        let n = bad.len() - 30;
        bad[n] ^= 0xff;
        assert_eq!(
            open(&mut server, &bad),
            Err(SealingError::Ntlm(NtlmError::BadSignature))
        );
        assert!(matches!(
            open(&mut server, b"--Encrypted Boundary\r\n"),
            Err(SealingError::Malformed(_))
        ));
    }
}
