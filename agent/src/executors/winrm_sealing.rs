//! WinRM message encryption over HTTP (MS-WSMV 2.2.9.1.1, "HTTP-SPNEGO-session-
//! encrypted"): after the NTLM handshake each SOAP envelope travels sealed in a
//! `multipart/encrypted` body — a part naming the original length, then the signature
//! length, the signature and the sealed bytes. The sealing itself (RC4 under the
//! session's key, HMAC-MD5 signature with the sequence number) is `sspi`'s
//! `EncryptMessage` / `DecryptMessage`; this is only the framing around it.

use sspi::{EncryptionFlags, SecurityBufferRef, Sspi};

pub const PROTOCOL: &str = "application/HTTP-SPNEGO-session-encrypted";
pub const CONTENT_TYPE: &str = "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\"";
const BOUNDARY: &[u8] = b"--Encrypted Boundary";
const OCTET_STREAM: &[u8] = b"\tContent-Type: application/octet-stream\r\n";
/// An NTLM signature: version, checksum, sequence number.
const SIGNATURE_LEN: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum SealingError {
    #[error("encrypted WinRM message: {0}")]
    Malformed(&'static str),
    #[error("encrypted WinRM message refused (signature or sequence wrong): {0}")]
    Refused(sspi::Error),
    #[error("cannot seal the WinRM message: {0}")]
    Seal(sspi::Error),
}

/// Whether a `Content-Type` says the body is sealed.
pub fn is_sealed(content_type: &str) -> bool {
    content_type.contains(PROTOCOL)
}

/// Seals a SOAP envelope into the multipart body.
pub fn seal(security: &mut impl Sspi, soap: &[u8]) -> Result<Vec<u8>, SealingError> {
    let mut signature = [0u8; SIGNATURE_LEN];
    let mut sealed = soap.to_vec();
    let mut buffers = [
        SecurityBufferRef::token_buf(&mut signature),
        SecurityBufferRef::data_buf(&mut sealed),
    ];
    security
        .encrypt_message(EncryptionFlags::empty(), &mut buffers)
        .map_err(SealingError::Seal)?;
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
    body.extend_from_slice(&(SIGNATURE_LEN as u32).to_le_bytes());
    body.extend_from_slice(&signature);
    body.extend_from_slice(&sealed);
    body.extend_from_slice(BOUNDARY);
    body.extend_from_slice(b"--\r\n");
    Ok(body)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Opens a sealed multipart body: the SOAP envelope, its signature and sequence number
/// checked.
pub fn open(security: &mut impl Sspi, body: &[u8]) -> Result<Vec<u8>, SealingError> {
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
    let signature_len = rest
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or(SealingError::Malformed("cut short"))?;
    if signature_len != SIGNATURE_LEN {
        return Err(SealingError::Malformed("not an NTLM signature"));
    }
    let mut signature = rest
        .get(4..4 + SIGNATURE_LEN)
        .ok_or(SealingError::Malformed("cut short"))?
        .to_vec();
    // RC4 keeps the length: the sealed bytes are exactly the original length.
    let mut data = rest
        .get(4 + SIGNATURE_LEN..4 + SIGNATURE_LEN + length)
        .ok_or(SealingError::Malformed("shorter than its Length"))?
        .to_vec();
    let mut buffers = [
        SecurityBufferRef::token_buf(&mut signature),
        SecurityBufferRef::data_buf(&mut data),
    ];
    security
        .decrypt_message(&mut buffers)
        .map_err(SealingError::Refused)?;
    Ok(buffers[1].data().to_vec())
}

#[cfg(test)]
mod tests {
    use super::super::ntlm::{Acceptor, Client, Security};
    use super::*;

    fn sessions() -> (Security, Security) {
        let (client, negotiate) = Client::negotiate(r"CORP\ops", "pw").unwrap();
        let (acceptor, challenge) = Acceptor::challenge(r"CORP\ops", "pw", &negotiate).unwrap();
        let (client, authenticate) = client.authenticate(&challenge).unwrap();
        (client, acceptor.accept(&authenticate).unwrap())
    }

    #[test]
    fn a_sealed_envelope_opens_on_the_other_side_and_tampering_is_refused() {
        let (mut client, mut server) = sessions();
        let soap = "<s:Envelope>ünïcode</s:Envelope>".as_bytes();
        let body = seal(&mut client, soap).unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(
            "--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n"
        ));
        assert!(text.contains(&format!("Length={}\r\n", soap.len())));
        assert!(body.ends_with(b"--Encrypted Boundary--\r\n"));
        assert!(find(&body, soap).is_none(), "the envelope is not in clear");
        assert_eq!(open(&mut server, &body).unwrap(), soap);

        // And back, with each side's own keys and sequence numbers.
        let answer = seal(&mut server, b"<s:Envelope>answer</s:Envelope>").unwrap();
        assert_eq!(
            open(&mut client, &answer).unwrap(),
            b"<s:Envelope>answer</s:Envelope>"
        );

        let mut bad = seal(&mut client, soap).unwrap();
        let n = bad.len() - 30;
        bad[n] ^= 0xff;
        assert!(matches!(
            open(&mut server, &bad),
            Err(SealingError::Refused(_))
        ));
        assert!(matches!(
            open(&mut server, b"--Encrypted Boundary\r\n"),
            Err(SealingError::Malformed(_))
        ));
    }

    #[test]
    fn a_replayed_message_is_refused() {
        let (mut client, mut server) = sessions();
        let body = seal(&mut client, b"<s:Envelope/>").unwrap();
        assert!(open(&mut server, &body).is_ok());
        assert!(matches!(
            open(&mut server, &body),
            Err(SealingError::Refused(_))
        ));
    }
}
