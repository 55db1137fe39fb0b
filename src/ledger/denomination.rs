//! Prepaid denominated keys: an identifier, a value and 256 bits of random key material,
//! issued to a user's key store against a payment the operator recorded. The issuing node
//! keeps an identical copy in its own pool so it can verify the user's spend.

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{random, LedgerError};

/// One prepaid key. The material is wiped from memory on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DenominatedKey {
    /// Random 128-bit identifier.
    pub id: [u8; 16],
    /// Face value in the operator's units.
    pub value: u64,
    /// Secret material (the MAC key of [`super::event::requester_mac`]).
    pub material: [u8; 32],
}

impl std::fmt::Debug for DenominatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DenominatedKey")
            .field("id", &hex::encode(self.id))
            .field("value", &self.value)
            .finish_non_exhaustive()
    }
}

impl DenominatedKey {
    /// A fresh key of `value` from the OS CSPRNG.
    ///
    /// # Errors
    /// [`LedgerError::Io`] if the random number generator fails.
    pub fn fresh(value: u64) -> Result<Self, LedgerError> {
        let mut k = Self {
            id: [0; 16],
            value,
            material: [0; 32],
        };
        random(&mut k.id)?;
        random(&mut k.material)?;
        Ok(k)
    }
}

/// A payment recorded by the operator, against which denominated keys are issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// Operator's reference (receipt number); unique per node.
    pub reference: String,
    /// Paying user.
    pub user: String,
    /// Amount paid in the operator's units.
    pub amount: u64,
}

/// Checks that `payment` covers `count` keys of `value` each and returns the keys to issue.
///
/// # Errors
/// [`LedgerError::Payment`] if the value is zero, `count` is zero, or the payment is short;
/// [`LedgerError::Overflow`]; [`LedgerError::Io`] from the random number generator.
pub fn issue_against(
    payment: &Payment,
    value: u64,
    count: u32,
) -> Result<Vec<DenominatedKey>, LedgerError> {
    if value == 0 || count == 0 {
        return Err(LedgerError::Payment(
            "value and count must be positive".into(),
        ));
    }
    let cost = value
        .checked_mul(u64::from(count))
        .ok_or(LedgerError::Overflow)?;
    if cost > payment.amount {
        return Err(LedgerError::Payment(format!(
            "payment {} of {} does not cover {count} × {value} = {cost}",
            payment.reference, payment.amount
        )));
    }
    (0..count).map(|_| DenominatedKey::fresh(value)).collect()
}
