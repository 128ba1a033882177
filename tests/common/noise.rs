//! Pseudo-random bytes for hostile clients (the hostile test and the attack
//! bench): the same every run, no newline guaranteed (that is the point).

pub fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}
