//! NTLMv2 (MS-NLMP) as WinRM's `Negotiate` authentication uses it: the three messages
//! of the handshake (NEGOTIATE, CHALLENGE, AUTHENTICATE with its MIC), and the session
//! security that seals each message afterwards (RC4 with 128-bit keys, HMAC-MD5
//! signatures, extended session security, key exchange). Windows' default WinRM set-up
//! (Basic off, unencrypted traffic refused) accepts exactly this over plain HTTP.
//!
//! The client side is what the WinRM executor runs; the primitives are public because
//! the tests' WinRM server (`agent/tests/support/fake_winrm.rs`) verifies and seals with
//! them as the acceptor — and pywinrm, a real NTLM client, proves that server right.

use hmac::{Hmac, Mac};
use md4::Md4;
use md5::{Digest, Md5};
use rc4::{consts::U16, KeyInit, Rc4, StreamCipher};

pub const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
pub const NEGOTIATE_OEM: u32 = 0x0000_0002;
pub const REQUEST_TARGET: u32 = 0x0000_0004;
pub const NEGOTIATE_SIGN: u32 = 0x0000_0010;
pub const NEGOTIATE_SEAL: u32 = 0x0000_0020;
pub const NEGOTIATE_LM_KEY: u32 = 0x0000_0080;
pub const NEGOTIATE_NTLM: u32 = 0x0000_0200;
pub const NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
pub const TARGET_TYPE_SERVER: u32 = 0x0002_0000;
pub const NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
pub const NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
pub const NEGOTIATE_VERSION: u32 = 0x0200_0000;
pub const NEGOTIATE_128: u32 = 0x2000_0000;
pub const NEGOTIATE_KEY_EXCH: u32 = 0x4000_0000;
pub const NEGOTIATE_56: u32 = 0x8000_0000;

/// What the client asks for: NTLMv2 with extended session security, signing and
/// sealing with 128-bit keys and a random exchanged session key.
pub const CLIENT_FLAGS: u32 = NEGOTIATE_UNICODE
    | REQUEST_TARGET
    | NEGOTIATE_SIGN
    | NEGOTIATE_SEAL
    | NEGOTIATE_NTLM
    | NEGOTIATE_ALWAYS_SIGN
    | NEGOTIATE_EXTENDED_SESSIONSECURITY
    | NEGOTIATE_VERSION
    | NEGOTIATE_128
    | NEGOTIATE_KEY_EXCH
    | NEGOTIATE_56;

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
/// Windows 10 / NTLM revision 15, as Windows clients send it.
const VERSION: [u8; 8] = [10, 0, 0x61, 0x4a, 0, 0, 0, 15];

/// AV pair ids of a CHALLENGE's target information.
pub const AV_EOL: u16 = 0;
pub const AV_NB_COMPUTER: u16 = 1;
pub const AV_NB_DOMAIN: u16 = 2;
pub const AV_DNS_COMPUTER: u16 = 3;
pub const AV_FLAGS: u16 = 6;
pub const AV_TIMESTAMP: u16 = 7;
/// MsvAvFlags: the AUTHENTICATE message carries a MIC.
const AV_FLAG_MIC: u32 = 0x2;

/// Where the MIC sits in an AUTHENTICATE message (after the version).
pub const MIC_OFFSET: usize = 72;
const AUTHENTICATE_HEADER: usize = 88;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NtlmError {
    #[error("NTLM: the server's challenge is malformed ({0})")]
    BadChallenge(&'static str),
    #[error("NTLM: the server does not offer {0}")]
    Weak(&'static str),
    #[error("NTLM: a message from the server failed its signature check")]
    BadSignature,
    #[error("NTLM: malformed {0} message")]
    Malformed(&'static str),
}

/// A user as NTLM names it: `DOMAIN\user`, `user@domain` or a local `user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub domain: String,
    pub user: String,
}

impl Identity {
    pub fn parse(login: &str) -> Identity {
        if let Some((domain, user)) = login.split_once('\\') {
            return Identity {
                domain: domain.into(),
                user: user.into(),
            };
        }
        // UPNs go as they are with an empty domain (what SSPI does with them).
        Identity {
            domain: String::new(),
            user: login.into(),
        }
    }
}

pub fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

pub fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// RC4 with a 16-byte key (every key NTLM derives here is one).
pub fn rc4(key: &[u8; 16]) -> Rc4<U16> {
    Rc4::<U16>::new(key.into())
}

/// NTOWFv1: MD4 of the UTF-16 password.
pub fn nt_hash(password: &str) -> [u8; 16] {
    Md4::digest(utf16(password)).into()
}

/// NTOWFv2: HMAC-MD5 of the upper-cased user and the domain under the NT hash.
pub fn ntowfv2(id: &Identity, password: &str) -> [u8; 16] {
    let who = utf16(&format!("{}{}", id.user.to_uppercase(), id.domain));
    hmac_md5(&nt_hash(password), &[&who])
}

/// Checks an NTLMv2 response against `server_challenge`: its session base key when the
/// proof is right (the acceptor's side, used by the tests' WinRM server).
pub fn verify_response(
    response_key: &[u8; 16],
    server_challenge: &[u8; 8],
    nt_response: &[u8],
) -> Option<[u8; 16]> {
    if nt_response.len() < 16 + 28 {
        return None;
    }
    let (proof, temp) = nt_response.split_at(16);
    let expected = hmac_md5(response_key, &[server_challenge, temp]);
    (expected == proof).then(|| hmac_md5(response_key, &[&expected]))
}

/// The NEGOTIATE message.
pub fn negotiate() -> Vec<u8> {
    let mut m = Vec::with_capacity(40);
    m.extend_from_slice(SIGNATURE);
    m.extend_from_slice(&1u32.to_le_bytes());
    m.extend_from_slice(&CLIENT_FLAGS.to_le_bytes());
    // Empty domain and workstation fields pointing at the end of the message.
    for _ in 0..2 {
        m.extend_from_slice(&[0, 0, 0, 0]);
        m.extend_from_slice(&40u32.to_le_bytes());
    }
    m.extend_from_slice(&VERSION);
    m
}

/// A (length, offset) field of an NTLM message.
fn field(msg: &[u8], at: usize) -> Option<&[u8]> {
    let len = u16::from_le_bytes(msg.get(at..at + 2)?.try_into().ok()?) as usize;
    let off = u32::from_le_bytes(msg.get(at + 4..at + 8)?.try_into().ok()?) as usize;
    msg.get(off..off.checked_add(len)?)
}

pub fn read_u32(msg: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(msg.get(at..at + 4)?.try_into().ok()?))
}

/// The parts of a CHALLENGE message the client uses.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub flags: u32,
    pub server_challenge: [u8; 8],
    /// The target information AV pairs (without the terminating EOL pair).
    pub target_info: Vec<(u16, Vec<u8>)>,
}

impl Challenge {
    pub fn parse(msg: &[u8]) -> Result<Challenge, NtlmError> {
        if msg.get(..8) != Some(SIGNATURE) || read_u32(msg, 8) != Some(2) {
            return Err(NtlmError::BadChallenge("not an NTLM CHALLENGE"));
        }
        let flags = read_u32(msg, 20).ok_or(NtlmError::BadChallenge("too short"))?;
        let server_challenge = msg
            .get(24..32)
            .and_then(|c| c.try_into().ok())
            .ok_or(NtlmError::BadChallenge("too short"))?;
        let info = if flags & NEGOTIATE_TARGET_INFO != 0 {
            field(msg, 40).ok_or(NtlmError::BadChallenge("target information out of bounds"))?
        } else {
            &[]
        };
        Ok(Challenge {
            flags,
            server_challenge,
            target_info: av_pairs(info).ok_or(NtlmError::BadChallenge("bad AV pairs"))?,
        })
    }
}

/// Reads AV pairs up to (not including) the EOL pair.
pub fn av_pairs(mut b: &[u8]) -> Option<Vec<(u16, Vec<u8>)>> {
    let mut pairs = Vec::new();
    while b.len() >= 4 {
        let id = u16::from_le_bytes([b[0], b[1]]);
        let len = u16::from_le_bytes([b[2], b[3]]) as usize;
        if id == AV_EOL {
            return Some(pairs);
        }
        pairs.push((id, b.get(4..4 + len)?.to_vec()));
        b = &b[4 + len..];
    }
    // Some servers leave the EOL pair out.
    b.is_empty().then_some(pairs)
}

pub fn write_av_pairs(pairs: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (id, v) in pairs {
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(v.len() as u16).to_le_bytes());
        out.extend_from_slice(v);
    }
    out.extend_from_slice(&[0, 0, 0, 0]);
    out
}

/// Now as a Windows FILETIME (100 ns since 1601-01-01).
pub fn filetime_now() -> [u8; 8] {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let ticks = (unix.as_nanos() / 100) as u64 + 116_444_736_000_000_000;
    ticks.to_le_bytes()
}

/// The AUTHENTICATE message, and the session security it starts.
pub struct Authenticated {
    pub message: Vec<u8>,
    pub security: Security,
}

/// Answers a CHALLENGE: NTLMv2 responses, an exchanged random session key, and the MIC
/// over the three messages when the server sent a timestamp (it always does since
/// Windows Vista). `negotiate` is the message this client sent first.
pub fn authenticate(
    negotiate: &[u8],
    challenge_msg: &[u8],
    id: &Identity,
    password: &str,
) -> Result<Authenticated, NtlmError> {
    let challenge = Challenge::parse(challenge_msg)?;
    let flags = challenge.flags;
    for (flag, what) in [
        (
            NEGOTIATE_EXTENDED_SESSIONSECURITY,
            "extended session security",
        ),
        (NEGOTIATE_128, "128-bit session keys"),
        (NEGOTIATE_SIGN, "message signing"),
        (NEGOTIATE_SEAL, "message sealing"),
    ] {
        if flags & flag == 0 {
            return Err(NtlmError::Weak(what));
        }
    }
    let client_challenge: [u8; 8] = rand::random();
    let exported_key: [u8; 16] = rand::random();
    Ok(authenticate_with(
        negotiate,
        challenge_msg,
        &challenge,
        id,
        password,
        client_challenge,
        exported_key,
    ))
}

fn authenticate_with(
    negotiate: &[u8],
    challenge_msg: &[u8],
    challenge: &Challenge,
    id: &Identity,
    password: &str,
    client_challenge: [u8; 8],
    exported_key: [u8; 16],
) -> Authenticated {
    let key = ntowfv2(id, password);
    let timestamp = challenge
        .target_info
        .iter()
        .find(|(k, _)| *k == AV_TIMESTAMP)
        .and_then(|(_, v)| <[u8; 8]>::try_from(v.as_slice()).ok());
    let with_mic = timestamp.is_some();
    let mut info: Vec<(u16, Vec<u8>)> = challenge
        .target_info
        .iter()
        .filter(|(k, _)| *k != AV_FLAGS)
        .cloned()
        .collect();
    if with_mic {
        let prior = challenge
            .target_info
            .iter()
            .find(|(k, _)| *k == AV_FLAGS)
            .and_then(|(_, v)| read_u32(v, 0))
            .unwrap_or(0);
        info.push((AV_FLAGS, (prior | AV_FLAG_MIC).to_le_bytes().to_vec()));
    }
    let mut temp = vec![1, 1, 0, 0, 0, 0, 0, 0];
    temp.extend_from_slice(&timestamp.unwrap_or_else(filetime_now));
    temp.extend_from_slice(&client_challenge);
    temp.extend_from_slice(&[0, 0, 0, 0]);
    temp.extend_from_slice(&write_av_pairs(&info));
    temp.extend_from_slice(&[0, 0, 0, 0]);
    let proof = hmac_md5(&key, &[&challenge.server_challenge, &temp]);
    let nt_response = [proof.as_slice(), &temp].concat();
    // With a timestamp the LM response is zeros (MS-NLMP 3.1.5.1.2), else LMv2.
    let lm_response = if with_mic {
        vec![0; 24]
    } else {
        let lm = hmac_md5(&key, &[&challenge.server_challenge, &client_challenge]);
        [lm.as_slice(), &client_challenge].concat()
    };
    let key_exchange_key = hmac_md5(&key, &[&proof]);
    let mut encrypted_key = exported_key;
    rc4(&key_exchange_key).apply_keystream(&mut encrypted_key);

    let domain = utf16(&id.domain);
    let user = utf16(&id.user);
    let workstation = utf16("LWAMS");
    let mut m = Vec::with_capacity(AUTHENTICATE_HEADER + 512);
    m.extend_from_slice(SIGNATURE);
    m.extend_from_slice(&3u32.to_le_bytes());
    let payloads: [&[u8]; 6] = [
        &lm_response,
        &nt_response,
        &domain,
        &user,
        &workstation,
        &encrypted_key,
    ];
    let mut offset = AUTHENTICATE_HEADER;
    for p in payloads {
        m.extend_from_slice(&(p.len() as u16).to_le_bytes());
        m.extend_from_slice(&(p.len() as u16).to_le_bytes());
        m.extend_from_slice(&(offset as u32).to_le_bytes());
        offset += p.len();
    }
    m.extend_from_slice(&challenge.flags.to_le_bytes());
    m.extend_from_slice(&VERSION);
    m.extend_from_slice(&[0; 16]);
    for p in payloads {
        m.extend_from_slice(p);
    }
    if with_mic {
        let mic = hmac_md5(&exported_key, &[negotiate, challenge_msg, &m]);
        m[MIC_OFFSET..MIC_OFFSET + 16].copy_from_slice(&mic);
    }
    Authenticated {
        message: m,
        security: Security::new(&exported_key, true),
    }
}

/// The session key the client exchanged, decrypted with the session base key (the
/// acceptor's side of NEGOTIATE_KEY_EXCH).
pub fn exchanged_key(session_base_key: &[u8; 16], encrypted: &[u8]) -> Option<[u8; 16]> {
    let mut key: [u8; 16] = encrypted.try_into().ok()?;
    rc4(session_base_key).apply_keystream(&mut key);
    Some(key)
}

/// The MIC an AUTHENTICATE message should carry (the acceptor's check).
pub fn mic(exported_key: &[u8; 16], negotiate: &[u8], challenge: &[u8], auth: &[u8]) -> [u8; 16] {
    let mut zeroed = auth.to_vec();
    if let Some(m) = zeroed.get_mut(MIC_OFFSET..MIC_OFFSET + 16) {
        m.fill(0);
    }
    hmac_md5(exported_key, &[negotiate, challenge, &zeroed])
}

/// The NTLM fields of an AUTHENTICATE message (the acceptor's view).
#[derive(Debug, Clone)]
pub struct AuthenticateFields {
    pub flags: u32,
    pub nt_response: Vec<u8>,
    pub identity: Identity,
    pub encrypted_key: Vec<u8>,
    pub mic: Option<[u8; 16]>,
}

impl AuthenticateFields {
    pub fn parse(msg: &[u8]) -> Result<AuthenticateFields, NtlmError> {
        let bad = NtlmError::Malformed("AUTHENTICATE");
        if msg.get(..8) != Some(SIGNATURE) || read_u32(msg, 8) != Some(3) {
            return Err(bad);
        }
        let text = |at| {
            field(msg, at).map(|b| {
                let units: Vec<u16> = b
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
            })
        };
        let lowest_offset = [12, 20, 28, 36, 44, 52]
            .iter()
            .filter_map(|at| read_u32(msg, at + 4))
            .min()
            .unwrap_or(0) as usize;
        Ok(AuthenticateFields {
            flags: read_u32(msg, 60).ok_or(bad.clone())?,
            nt_response: field(msg, 20).ok_or(bad.clone())?.to_vec(),
            identity: Identity {
                domain: text(28).ok_or(bad.clone())?,
                user: text(36).ok_or(bad.clone())?,
            },
            encrypted_key: field(msg, 52).ok_or(bad.clone())?.to_vec(),
            mic: (lowest_offset >= AUTHENTICATE_HEADER)
                .then(|| msg.get(MIC_OFFSET..MIC_OFFSET + 16)?.try_into().ok())
                .flatten(),
        })
    }
}

const CLIENT_SIGN: &[u8] = b"session key to client-to-server signing key magic constant\0";
const SERVER_SIGN: &[u8] = b"session key to server-to-client signing key magic constant\0";
const CLIENT_SEAL: &[u8] = b"session key to client-to-server sealing key magic constant\0";
const SERVER_SEAL: &[u8] = b"session key to server-to-client sealing key magic constant\0";

/// One direction of a sealed session: its RC4 stream, signing key and sequence number.
struct Direction {
    rc4: Rc4<U16>,
    sign_key: [u8; 16],
    seq: u32,
}

impl Direction {
    fn new(exported_key: &[u8; 16], seal: &[u8], sign: &[u8]) -> Direction {
        Direction {
            rc4: rc4(&md5(&[exported_key, seal])),
            sign_key: md5(&[exported_key, sign]),
            seq: 0,
        }
    }

    /// The signature of `message` (advancing the RC4 stream and the sequence number).
    fn signature(&mut self, message: &[u8]) -> [u8; 16] {
        let seq = self.seq.to_le_bytes();
        let mut checksum: [u8; 8] = hmac_md5(&self.sign_key, &[&seq, message])[..8]
            .try_into()
            .expect("8 of 16 bytes");
        self.rc4.apply_keystream(&mut checksum);
        self.seq = self.seq.wrapping_add(1);
        let mut sig = [0u8; 16];
        sig[..4].copy_from_slice(&1u32.to_le_bytes());
        sig[4..12].copy_from_slice(&checksum);
        sig[12..].copy_from_slice(&seq);
        sig
    }
}

/// Sealing and unsealing of the messages after the handshake (connection-oriented:
/// one RC4 stream and sequence per direction for the life of the connection).
pub struct Security {
    send: Direction,
    receive: Direction,
}

impl Security {
    /// `client`: this side started the handshake.
    pub fn new(exported_key: &[u8; 16], client: bool) -> Security {
        let c = Direction::new(exported_key, CLIENT_SEAL, CLIENT_SIGN);
        let s = Direction::new(exported_key, SERVER_SEAL, SERVER_SIGN);
        if client {
            Security {
                send: c,
                receive: s,
            }
        } else {
            Security {
                send: s,
                receive: c,
            }
        }
    }

    /// Seals a message: (its 16-byte signature, the sealed bytes).
    pub fn wrap(&mut self, message: &[u8]) -> ([u8; 16], Vec<u8>) {
        let mut sealed = message.to_vec();
        self.send.rc4.apply_keystream(&mut sealed);
        let sig = self.send.signature(message);
        (sig, sealed)
    }

    /// Unseals a message and checks its signature.
    pub fn unwrap(&mut self, signature: &[u8], sealed: &[u8]) -> Result<Vec<u8>, NtlmError> {
        let mut message = sealed.to_vec();
        self.receive.rc4.apply_keystream(&mut message);
        if self.receive.signature(&message).as_slice() != signature {
            return Err(NtlmError::BadSignature);
        }
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// MS-NLMP 4.2.4 (NTLMv2): user "User", domain "Domain", password "Password",
    /// server challenge 0123456789abcdef, client challenge aa…, time 0 — values also
    /// reproduced with pyspnego.
    #[test]
    fn ntlmv2_keys_and_responses_match_the_specification() {
        let id = Identity {
            domain: "Domain".into(),
            user: "User".into(),
        };
        assert_eq!(
            hex(&nt_hash("Password")),
            "a4f49c406510bdcab6824ee7c30fd852"
        );
        let key = ntowfv2(&id, "Password");
        assert_eq!(hex(&key), "0c868a403bfd7a93a3001ef22ef02e3f");
        let info = vec![
            (AV_NB_DOMAIN, utf16("Domain")),
            (AV_NB_COMPUTER, utf16("Server")),
        ];
        let mut temp = vec![1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        temp.extend_from_slice(&[0xaa; 8]);
        temp.extend_from_slice(&[0; 4]);
        temp.extend_from_slice(&write_av_pairs(&info));
        temp.extend_from_slice(&[0; 4]);
        let server: [u8; 8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
        let proof = hmac_md5(&key, &[&server, &temp]);
        assert_eq!(hex(&proof), "68cd0ab851e51c96aabc927bebef6a1c");
        let response = [proof.as_slice(), &temp].concat();
        let base = verify_response(&key, &server, &response).expect("the proof verifies");
        assert_eq!(hex(&base), "8de40ccadbc14a82f15cb0ad0de95ca3");
        assert!(verify_response(&ntowfv2(&id, "wrong"), &server, &response).is_none());

        let mut exchanged = [0x55; 16];
        rc4(&base).apply_keystream(&mut exchanged);
        assert_eq!(hex(&exchanged), "c5dad2544fc9799094ce1ce90bc9d03e");
    }

    #[test]
    fn sealing_matches_the_specification_and_each_side_opens_the_other() {
        let key = [0x55; 16];
        let mut client = Security::new(&key, true);
        let (sig, sealed) = client.wrap(&utf16("Plaintext"));
        assert_eq!(hex(&sealed), "54e50165bf1936dc996020c1811b0f06fb5f");
        assert_eq!(hex(&sig), "010000007fb38ec5c55d497600000000");
        let (sig2, sealed2) = client.wrap(b"second");
        assert_eq!(
            (hex(&sealed2), hex(&sig2)),
            (
                "47a6078f91c6".to_string(),
                "01000000f1476e0010b0a76b01000000".to_string()
            )
        );
        let mut server = Security::new(&key, false);
        assert_eq!(server.unwrap(&sig, &sealed).unwrap(), utf16("Plaintext"));
        assert_eq!(server.unwrap(&sig2, &sealed2).unwrap(), b"second");
        let (sig, sealed) = server.wrap(b"answer");
        assert_eq!(hex(&sealed), "27666ec034c8");
        assert_eq!(hex(&sig), "01000000862ea8e49db140ec00000000");
        assert_eq!(client.unwrap(&sig, &sealed).unwrap(), b"answer");
        // Tampering (or a replay: the sequence moved on) is refused.
        let (sig, mut sealed) = server.wrap(b"answer");
        sealed[0] ^= 1;
        assert_eq!(client.unwrap(&sig, &sealed), Err(NtlmError::BadSignature));
    }

    fn challenge(flags: u32, info: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let info = write_av_pairs(info);
        let mut m = SIGNATURE.to_vec();
        m.extend_from_slice(&2u32.to_le_bytes());
        m.extend_from_slice(&[0, 0, 0, 0, 56, 0, 0, 0]);
        m.extend_from_slice(&flags.to_le_bytes());
        m.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        m.extend_from_slice(&[0; 8]);
        m.extend_from_slice(&(info.len() as u16).to_le_bytes());
        m.extend_from_slice(&(info.len() as u16).to_le_bytes());
        m.extend_from_slice(&56u32.to_le_bytes());
        m.extend_from_slice(&VERSION);
        m.extend_from_slice(&info);
        m
    }

    #[test]
    fn the_authenticate_message_carries_identity_proof_key_and_mic() {
        let flags = CLIENT_FLAGS | NEGOTIATE_TARGET_INFO;
        let info = vec![(AV_NB_COMPUTER, utf16("WIN")), (AV_TIMESTAMP, vec![7; 8])];
        let c = challenge(flags, &info);
        let id = Identity::parse("CORP\\ops");
        assert_eq!((id.domain.as_str(), id.user.as_str()), ("CORP", "ops"));
        let neg = negotiate();
        let a = authenticate(&neg, &c, &id, "pw").unwrap();
        let f = AuthenticateFields::parse(&a.message).unwrap();
        assert_eq!(f.identity, id);
        assert_eq!(f.flags, flags);
        let key = ntowfv2(&id, "pw");
        let base = verify_response(&key, &[1, 2, 3, 4, 5, 6, 7, 8], &f.nt_response)
            .expect("the acceptor verifies the proof");
        let exported = exchanged_key(&base, &f.encrypted_key).unwrap();
        assert_eq!(f.mic, Some(mic(&exported, &neg, &c, &a.message)));
        // The timestamp was echoed and MsvAvFlags says a MIC is there.
        let echoed = av_pairs(&f.nt_response[16 + 28..]).unwrap();
        assert!(echoed.contains(&(AV_TIMESTAMP, vec![7; 8])));
        assert!(echoed.contains(&(AV_FLAGS, AV_FLAG_MIC.to_le_bytes().to_vec())));
        // Both ends seal with the exchanged key.
        let mut client = a.security;
        let mut server = Security::new(&exported, false);
        let (sig, sealed) = client.wrap(b"<s:Envelope/>");
        assert_eq!(server.unwrap(&sig, &sealed).unwrap(), b"<s:Envelope/>");

        let weak = challenge(flags & !NEGOTIATE_SEAL, &info);
        assert_eq!(
            authenticate(&neg, &weak, &id, "pw").err(),
            Some(NtlmError::Weak("message sealing"))
        );
        assert!(matches!(
            authenticate(&neg, b"NTLMSSP\0\x01", &id, "pw"),
            Err(NtlmError::BadChallenge(_))
        ));
    }
}
