//! Name resolution: [`ToSocketAddrs`] (what `bind`, `connect` and `send_to` accept, as
//! tokio's) and [`lookup_host`]. Host names resolve to the addresses of the run's
//! [`Host`](super::Host)s, `localhost` to `127.0.0.1`; nothing reaches a real resolver.
//!
//! Owns parsing and resolution; a malformed address or an unknown name is an
//! `io::Error` naming it.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::world::State;
use super::{error, net};

/// What names a socket address (mirrors `tokio::net::ToSocketAddrs`): a
/// [`SocketAddr`], `(IpAddr, u16)`, `(&str, u16)`, or a string `"host:port"` whose
/// host is an address, `localhost`, or the name of a run's host.
pub trait ToSocketAddrs {
    /// The addresses it names, resolved in the current run.
    #[doc(hidden)]
    fn __resolve(&self, r: &Resolver<'_>) -> io::Result<Vec<SocketAddr>>;
}

/// The run's names, as [`ToSocketAddrs`] sees them.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Resolver<'a>(&'a State);

impl std::fmt::Debug for Resolver<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolver")
    }
}

fn by_name(
    Resolver(st): &Resolver<'_>,
    host: &str,
    port: u16,
    input: &str,
) -> io::Result<Vec<SocketAddr>> {
    // A name starts with a letter and has no `:` (an IPv6 address may start with one).
    if !host.starts_with(|c: char| c.is_ascii_alphabetic()) || host.contains(':') {
        if let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
    }
    if host == "localhost" {
        return Ok(vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)]);
    }
    match st.host_named(host) {
        Some(h) => Ok(vec![SocketAddr::new(st.hosts[h as usize].ip, port)]),
        None => Err(error(
            io::ErrorKind::NotFound,
            format!(
                "failed to look up address {input:?}: no host named {host:?} (hosts: {}, localhost)",
                st.names()
            ),
        )),
    }
}

impl ToSocketAddrs for SocketAddr {
    fn __resolve(&self, _: &Resolver<'_>) -> io::Result<Vec<SocketAddr>> {
        Ok(vec![*self])
    }
}

impl ToSocketAddrs for (IpAddr, u16) {
    fn __resolve(&self, _: &Resolver<'_>) -> io::Result<Vec<SocketAddr>> {
        Ok(vec![SocketAddr::new(self.0, self.1)])
    }
}

impl ToSocketAddrs for (Ipv4Addr, u16) {
    fn __resolve(&self, _: &Resolver<'_>) -> io::Result<Vec<SocketAddr>> {
        Ok(vec![SocketAddr::new(IpAddr::V4(self.0), self.1)])
    }
}

impl ToSocketAddrs for (&str, u16) {
    fn __resolve(&self, st: &Resolver<'_>) -> io::Result<Vec<SocketAddr>> {
        by_name(st, self.0, self.1, &format!("{}:{}", self.0, self.1))
    }
}

impl ToSocketAddrs for str {
    fn __resolve(&self, st: &Resolver<'_>) -> io::Result<Vec<SocketAddr>> {
        // A name (`server:80`) starts with a letter; only an address needs parsing.
        let named = self.starts_with(|c: char| c.is_ascii_alphabetic());
        if !named {
            if let Ok(a) = self.parse::<SocketAddr>() {
                return Ok(vec![a]);
            }
        }
        let malformed = || {
            error(
                io::ErrorKind::InvalidInput,
                format!(
                    "invalid socket address {self:?}: expected `host:port` (e.g. `server:80`, `10.0.0.1:80`)"
                ),
            )
        };
        let (host, port) = self.rsplit_once(':').ok_or_else(malformed)?;
        let port: u16 = port.parse().map_err(|_| malformed())?;
        if host.is_empty() {
            return Err(malformed());
        }
        by_name(st, host, port, self)
    }
}

impl ToSocketAddrs for String {
    fn __resolve(&self, st: &Resolver<'_>) -> io::Result<Vec<SocketAddr>> {
        self.as_str().__resolve(st)
    }
}

impl ToSocketAddrs for [SocketAddr] {
    fn __resolve(&self, _: &Resolver<'_>) -> io::Result<Vec<SocketAddr>> {
        Ok(self.to_vec())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    fn __resolve(&self, st: &Resolver<'_>) -> io::Result<Vec<SocketAddr>> {
        (**self).__resolve(st)
    }
}

/// Resolves `addr` in `world` (a socket's own network: no run lookup).
pub(crate) fn resolve_in(
    world: &super::world::World,
    addr: &(impl ToSocketAddrs + ?Sized),
) -> io::Result<Vec<SocketAddr>> {
    let st = world.state.lock();
    let out = addr.__resolve(&Resolver(&st))?;
    if out.is_empty() {
        return Err(error(io::ErrorKind::InvalidInput, "no address to resolve"));
    }
    Ok(out)
}

/// Resolves `addr` in the current run.
pub(crate) fn resolve(addr: &impl ToSocketAddrs, what: &str) -> io::Result<Vec<SocketAddr>> {
    let run = net(what);
    let st = run.world.state.lock();
    let out = addr.__resolve(&Resolver(&st))?;
    if out.is_empty() {
        return Err(error(io::ErrorKind::InvalidInput, "no address to resolve"));
    }
    Ok(out)
}

/// The addresses `host` names (mirrors `tokio::net::lookup_host`): a run's host name
/// with a port (`"server:80"`), `localhost`, or an address.
///
/// ```
/// use sim::net::{Host, lookup_host};
/// let mut rt = sim::Builder::new().build();
/// rt.block_on(async {
///     Host::builder("db").ip([10, 1, 2, 3]).build();
///     let addrs: Vec<_> = lookup_host("db:5432").await.unwrap().collect();
///     assert_eq!(addrs[0].to_string(), "10.1.2.3:5432");
///     let err = lookup_host("dbb:5432").await.err().unwrap();
///     assert!(err.to_string().contains("dbb"));
/// }).unwrap();
/// ```
///
/// # Errors
/// A malformed address (`InvalidInput`) or an unknown name (`NotFound`), naming it.
///
/// # Panics
/// Outside a run.
pub async fn lookup_host<T: ToSocketAddrs>(
    host: T,
) -> io::Result<impl Iterator<Item = SocketAddr>> {
    Ok(resolve(&host, "sim::net::lookup_host")?.into_iter())
}
