//! The HTTP client agent of everything in the harness that calls a loopback server (the world,
//! an adapter, the APDU bridge) many times a second.

/// A ureq agent with `config` that takes IP-literal hosts as they are.
pub fn agent(config: ureq::config::Config) -> ureq::Agent {
    ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::default(),
        LiteralResolver,
    )
}

/// Takes an IP-literal host (the world's loopback address) as it is, and leaves names to ureq's
/// resolver. ureq resolves before it looks for a pooled connection, and with a timeout set its
/// resolver runs every lookup on a new thread: a thread per request, about a tenth of the CPU
/// time of a status check, for an address that needs no lookup.
#[derive(Debug)]
struct LiteralResolver;

impl ureq::unversioned::resolver::Resolver for LiteralResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let literal = uri
            .host()
            .map(|host| host.trim_start_matches('[').trim_end_matches(']'))
            .and_then(|host| host.parse::<std::net::IpAddr>().ok())
            .zip(uri.port_u16().or(match uri.scheme_str() {
                Some("http") => Some(80),
                _ => None,
            }));
        match literal {
            Some((ip, port)) => {
                let mut addrs = self.empty();
                addrs.push(std::net::SocketAddr::new(ip, port));
                Ok(addrs)
            }
            None => ureq::unversioned::resolver::DefaultResolver::default()
                .resolve(uri, config, timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::unversioned::resolver::Resolver;
    use ureq::unversioned::transport::NextTimeout;

    fn resolve(uri: &str) -> Vec<std::net::SocketAddr> {
        let config = ureq::config::Config::default();
        let timeout = NextTimeout::default();
        LiteralResolver
            .resolve(&uri.parse().unwrap(), &config, timeout)
            .unwrap()
            .iter()
            .copied()
            .collect()
    }

    #[test]
    fn ip_literals_resolve_to_themselves() {
        assert_eq!(
            resolve("http://127.0.0.1:41234/ocsp"),
            ["127.0.0.1:41234".parse().unwrap()]
        );
        assert_eq!(resolve("http://[::1]/x"), ["[::1]:80".parse().unwrap()]);
    }

    #[test]
    fn names_go_to_the_system_resolver() {
        let addrs = resolve("http://localhost:8700/");
        assert!(!addrs.is_empty());
        assert!(addrs
            .iter()
            .all(|addr| addr.ip().is_loopback() && addr.port() == 8700));
    }
}
