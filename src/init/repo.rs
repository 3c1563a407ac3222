//! Which repository the trust policy names: read from the Git remote's URL.

/// A repository on GitHub or GitLab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub host: Host,
    /// `owner/name` (on GitLab, `group/subgroup/project`).
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    GitHub,
    GitLab,
}

/// Read a remote URL: `https://github.com/owner/name(.git)`,
/// `git@github.com:owner/name.git`, `ssh://git@gitlab.com/group/project`
/// and the like. `None` for other hosts and for anything else.
pub fn parse_remote(url: &str) -> Option<Repository> {
    let url = url.trim();
    let (scheme, rest) = match url.split_once("://") {
        Some(("https" | "http" | "ssh" | "git", rest)) => (true, rest),
        Some(_) => return None,
        // scp-like: user@host:path
        None => (false, url),
    };
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let at = rest.find(['/', ':'])?;
    let (host, sep, mut path) = (&rest[..at], &rest[at..=at], &rest[at + 1..]);
    let host = match host.to_ascii_lowercase().as_str() {
        "github.com" | "www.github.com" | "ssh.github.com" => Host::GitHub,
        "gitlab.com" | "www.gitlab.com" | "altssh.gitlab.com" => Host::GitLab,
        _ => return None,
    };
    // A URL (not the scp-like form) may carry a port: ssh://git@ssh.github.com:443/owner/name.
    if scheme && sep == ":" {
        let (port, after) = path.split_once('/')?;
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        path = after;
    }
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    let most = if host == Host::GitHub { 2 } else { 20 };
    let valid = segments.len() >= 2
        && segments.len() <= most
        && segments.iter().all(|s| {
            !s.is_empty()
                && !s.starts_with('.')
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
    valid.then(|| Repository {
        host,
        path: path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gh(path: &str) -> Option<Repository> {
        Some(Repository {
            host: Host::GitHub,
            path: path.into(),
        })
    }

    #[test]
    fn github_remotes_in_every_form() {
        for url in [
            "https://github.com/octo/site",
            "https://github.com/octo/site.git",
            "https://github.com/octo/site/",
            "https://token@github.com/octo/site.git",
            "git@github.com:octo/site.git",
            "ssh://git@github.com/octo/site.git",
            "ssh://git@ssh.github.com:443/octo/site.git",
            "  git@github.com:octo/site\n",
        ] {
            assert_eq!(parse_remote(url), gh("octo/site"), "{url}");
        }
        for url in ["https://github.com/123/site", "git@github.com:123/site.git"] {
            assert_eq!(parse_remote(url), gh("123/site"), "{url}");
        }
        let with_port = "https://github.com:443/octo/site";
        assert_eq!(parse_remote(with_port), gh("octo/site"));
    }

    #[test]
    fn gitlab_remotes_keep_their_subgroups() {
        let want = Some(Repository {
            host: Host::GitLab,
            path: "group/sub/site".into(),
        });
        assert_eq!(parse_remote("git@gitlab.com:group/sub/site.git"), want);
        assert_eq!(parse_remote("https://gitlab.com/group/sub/site"), want);
    }

    #[test]
    fn other_hosts_and_odd_paths_are_not_guessed() {
        for url in [
            "",
            "https://example.com/octo/site.git",
            "/srv/git/site.git",
            "file:///srv/git/site.git",
            "https://github.com/octo",
            "https://github.com/octo/site/extra",
            "https://github.com/octo/si te",
            "https://github.com/octo/../site",
            "git@github.com:octo/site\"}.git",
            "https://github.com:x/octo/site",
        ] {
            assert_eq!(parse_remote(url), None, "{url}");
        }
    }
}
