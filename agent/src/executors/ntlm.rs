//! NTLM (MS-NLMP: NTLMv2 with a MIC, extended session security, key exchange, 128-bit
//! sealing) as WinRM's `Negotiate` authentication uses it, from Devolutions' `sspi`
//! crate — the messages, the hashes and the session security are the library's; this
//! module only drives its SSPI calls. Windows' default WinRM set-up (Basic off,
//! unencrypted traffic refused) accepts exactly this over plain HTTP.
//!
//! [`Client`] is what the WinRM executor runs: NEGOTIATE, then AUTHENTICATE answering
//! the server's CHALLENGE, then [`Security`] seals and opens messages
//! (`winrm_sealing.rs`). [`Acceptor`] is a Windows server's side of the same handshake,
//! for the tests' WinRM server (`agent/tests/support/fake_winrm.rs`) — which pywinrm,
//! an independent NTLM client, proves right.

use sspi::{
    AuthIdentity, AuthIdentityBuffers, BufferType, ClientRequestFlags, CredentialUse,
    DataRepresentation, SecurityBuffer, SecurityStatus, ServerRequestFlags, Sspi, SspiImpl,
    Username, UsernameParts,
};

/// An authenticated NTLM context: signs, seals and opens messages of its connection.
pub type Security = sspi::Ntlm;

#[derive(Debug, thiserror::Error)]
pub enum NtlmError {
    #[error(
        "{login:?} is not a Windows user name (user, DOMAIN\\user or user@domain.example): \
         {reason}"
    )]
    UserName { login: String, reason: String },
    #[error("NTLM message {0} is malformed or refused: {1}")]
    Refused(&'static str, sspi::Error),
    #[error("NTLM: the AUTHENTICATE names {0}, not the account")]
    OtherAccount(String),
}

/// `user`, `DOMAIN\user` or `user@domain` with its password, as `sspi` takes it.
fn identity(login: &str, password: &str) -> Result<AuthIdentity, NtlmError> {
    let username = Username::parse(login).map_err(|e| NtlmError::UserName {
        login: login.to_string(),
        reason: e.to_string(),
    })?;
    Ok(AuthIdentity {
        username,
        password: password.to_string().into(),
    })
}

fn credentials(
    context: &mut sspi::Ntlm,
    identity: &AuthIdentity,
    usage: CredentialUse,
) -> Result<Option<AuthIdentityBuffers>, NtlmError> {
    Ok(context
        .acquire_credentials_handle()
        .with_credential_use(usage)
        .with_auth_data(identity)
        .execute(context)
        .map_err(|e| NtlmError::Refused("credentials", e))?
        .credentials_handle)
}

fn token(buffers: &mut [SecurityBuffer]) -> Vec<u8> {
    buffers
        .first_mut()
        .map(|b| std::mem::take(&mut b.buffer))
        .unwrap_or_default()
}

/// The client's side of one connection's handshake.
pub struct Client {
    context: sspi::Ntlm,
    credentials: Option<AuthIdentityBuffers>,
}

impl Client {
    /// Starts the handshake as `login` (`user`, `DOMAIN\user` or a UPN); the NEGOTIATE
    /// message to send. Signing and sealing are asked for: over plain HTTP every message
    /// is sealed.
    pub fn negotiate(login: &str, password: &str) -> Result<(Client, Vec<u8>), NtlmError> {
        let mut context = sspi::Ntlm::new();
        let credentials = credentials(
            &mut context,
            &identity(login, password)?,
            CredentialUse::Outbound,
        )?;
        let mut client = Client {
            context,
            credentials,
        };
        let negotiate = client
            .step(None)
            .map_err(|e| NtlmError::Refused("NEGOTIATE", e))?;
        Ok((client, negotiate))
    }

    /// The AUTHENTICATE answering the server's CHALLENGE, and the session security it
    /// establishes (in force once the server accepts the message).
    pub fn authenticate(mut self, challenge: &[u8]) -> Result<(Security, Vec<u8>), NtlmError> {
        let message = self
            .step(Some(challenge.to_vec()))
            .map_err(|e| NtlmError::Refused("CHALLENGE", e))?;
        Ok((self.context, message))
    }

    fn step(&mut self, input: Option<Vec<u8>>) -> Result<Vec<u8>, sspi::Error> {
        let mut output = [SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut input = input.map(|t| [SecurityBuffer::new(t, BufferType::Token)]);
        let mut builder = self
            .context
            .initialize_security_context()
            .with_credentials_handle(&mut self.credentials)
            .with_context_requirements(
                ClientRequestFlags::CONFIDENTIALITY | ClientRequestFlags::INTEGRITY,
            )
            .with_target_data_representation(DataRepresentation::Native)
            .with_output(&mut output);
        if let Some(input) = input.as_mut() {
            builder = builder.with_input(input);
        }
        self.context
            .initialize_security_context_impl(&mut builder)?
            .resolve_to_result()?;
        Ok(token(&mut output))
    }
}

/// A Windows server's side of one connection's handshake, knowing one account.
pub struct Acceptor {
    context: sspi::Ntlm,
    credentials: Option<AuthIdentityBuffers>,
    account: Username,
}

impl Acceptor {
    /// Answers the client's NEGOTIATE with a CHALLENGE (a random server challenge and
    /// target information with a timestamp, so the client must send a MIC).
    pub fn challenge(
        login: &str,
        password: &str,
        negotiate: &[u8],
    ) -> Result<(Acceptor, Vec<u8>), NtlmError> {
        let identity = identity(login, password)?;
        let mut context = sspi::Ntlm::new();
        let credentials = credentials(&mut context, &identity, CredentialUse::Inbound)?;
        let mut acceptor = Acceptor {
            context,
            credentials,
            account: identity.username,
        };
        let challenge = acceptor
            .step(negotiate)
            .map_err(|e| NtlmError::Refused("NEGOTIATE", e))?;
        Ok((acceptor, challenge))
    }

    /// Checks the AUTHENTICATE as Windows does — the NTLMv2 proof under the account's
    /// password, the exchanged key and the MIC over all three messages — and that it
    /// names the account (its domain too, when the account has one); the session
    /// security it opens.
    pub fn accept(mut self, authenticate: &[u8]) -> Result<Security, NtlmError> {
        self.step(authenticate)
            .map_err(|e| NtlmError::Refused("AUTHENTICATE", e))?;
        let named = self
            .context
            .query_context_names()
            .map_err(|e| NtlmError::Refused("AUTHENTICATE", e))?
            .username;
        if !names_the_account(&self.account, &named) {
            return Err(NtlmError::OtherAccount(named.inner().to_string()));
        }
        Ok(self.context)
    }

    fn step(&mut self, input: &[u8]) -> Result<Vec<u8>, sspi::Error> {
        let mut input = [SecurityBuffer::new(input.to_vec(), BufferType::Token)];
        let mut output = [SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let builder = self
            .context
            .accept_security_context()
            .with_credentials_handle(&mut self.credentials)
            .with_context_requirements(ServerRequestFlags::empty())
            .with_target_data_representation(DataRepresentation::Native)
            .with_input(&mut input)
            .with_output(&mut output);
        let status = self
            .context
            .accept_security_context_impl(builder)?
            .resolve_to_result()?
            .status;
        if status == SecurityStatus::CompleteNeeded {
            self.context.complete_auth_token(&mut output)?;
        }
        Ok(token(&mut output))
    }
}

/// Whether the name an AUTHENTICATE carries is `account` (case aside): the same user,
/// and the same domain when `account` names one.
fn names_the_account(account: &Username, named: &Username) -> bool {
    match (account.parts(), named.parts()) {
        (UsernameParts::DownLevelLogonName(a), UsernameParts::DownLevelLogonName(n)) => {
            a.account_name().eq_ignore_ascii_case(n.account_name())
                && a.netbios_domain().is_none_or(|domain| {
                    n.netbios_domain()
                        .is_some_and(|d| d.eq_ignore_ascii_case(domain))
                })
        }
        _ => account.eq_ignore_ascii_case(named),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake(client_login: &str, password: &str) -> Result<(Security, Security), NtlmError> {
        let (client, negotiate) = Client::negotiate(client_login, password)?;
        let (acceptor, challenge) = Acceptor::challenge(r"CORP\ops", "Winrm-pass-1", &negotiate)?;
        let (client, authenticate) = client.authenticate(&challenge)?;
        Ok((client, acceptor.accept(&authenticate)?))
    }

    #[test]
    fn the_right_account_is_accepted_and_a_wrong_password_domain_or_user_is_not() {
        assert!(handshake(r"CORP\ops", "Winrm-pass-1").is_ok());
        assert!(handshake(r"corp\OPS", "Winrm-pass-1").is_ok());
        assert!(matches!(
            handshake(r"CORP\ops", "wrong"),
            Err(NtlmError::Refused("AUTHENTICATE", _))
        ));
        assert!(matches!(
            handshake(r"ELSEWHERE\ops", "Winrm-pass-1"),
            Err(NtlmError::OtherAccount(_))
        ));
        assert!(matches!(
            handshake(r"CORP\admin", "Winrm-pass-1"),
            Err(NtlmError::OtherAccount(_) | NtlmError::Refused(..))
        ));
    }

    #[test]
    fn the_messages_are_ntlmssp_negotiate_challenge_authenticate() {
        let (client, negotiate) = Client::negotiate("ops@corp.example", "pw").unwrap();
        assert_eq!(&negotiate[..12], b"NTLMSSP\0\x01\0\0\0");
        let (_, challenge) = Acceptor::challenge("ops@corp.example", "pw", &negotiate).unwrap();
        assert_eq!(&challenge[..12], b"NTLMSSP\0\x02\0\0\0");
        let (_, authenticate) = client.authenticate(&challenge).unwrap();
        assert_eq!(&authenticate[..12], b"NTLMSSP\0\x03\0\0\0");
    }

    #[test]
    fn garbage_instead_of_a_challenge_is_named() {
        let (client, _) = Client::negotiate("ops", "pw").unwrap();
        let e = client.authenticate(b"not NTLM").err().unwrap();
        assert!(e.to_string().contains("CHALLENGE"), "{e}");
    }
}
