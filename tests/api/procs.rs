//! What tests start outside this process: free loopback ports, child processes that are stopped
//! when the test ends (passed or failed), and nginx running a config of the shipped files.
use std::path::Path;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A child process, killed and waited for when dropped, so a failing test leaves nothing running.
pub struct Proc {
    child: Child,
    what: String,
    /// Started in a process group of its own, whose every member is killed with it (a driver
    /// and the browsers it started).
    group: bool,
}

impl Proc {
    /// Starts `command` as `what` (named in failures).
    pub fn spawn(what: &str, command: &mut Command) -> Self {
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {what}: {e}"));
        Self {
            child,
            what: what.to_string(),
            group: false,
        }
    }

    /// As `spawn`, in a process group of its own that is killed as a whole.
    pub fn spawn_group(what: &str, command: &mut Command) -> Self {
        use std::os::unix::process::CommandExt;
        let mut proc = Self::spawn(what, command.process_group(0));
        proc.group = true;
        proc
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Its stderr, when it was started with `Stdio::piped()` for it.
    pub fn take_stderr(&mut self) -> ChildStderr {
        self.child.stderr.take().expect("stderr is piped")
    }

    /// How it ended, if it has.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits until something accepts connections on `port`, for at most `limit`; fails the test
    /// when it exits first.
    pub async fn wait_for_port(&mut self, port: u16, limit: Duration) {
        let deadline = Instant::now() + limit;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if let Some(status) = self.exited() {
                panic!("{} exited early: {status}", self.what);
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen on {port} within {limit:?}",
                self.what
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for it to end by itself.
    pub fn wait(&mut self) -> ExitStatus {
        self.child
            .wait()
            .unwrap_or_else(|e| panic!("wait for {}: {e}", self.what))
    }

    /// SIGKILL, as a crash or an OOM kill would stop it; waits for it and returns how it ended.
    pub fn kill(&mut self) -> ExitStatus {
        self.send_kill();
        self.wait()
    }

    fn send_kill(&mut self) {
        if self.group {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.kill();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.send_kill();
        let _ = self.child.wait();
    }
}

/// The path of `name` among the system's programs; fails the test, saying how to install it,
/// when it is missing.
pub fn tool(name: &str) -> String {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin"] {
        let p = format!("{dir}/{name}");
        if Path::new(&p).exists() {
            return p;
        }
    }
    panic!(
        "{name} is not installed: scripts/test.sh installs it (apt-get install nginx-light caddy)"
    );
}

/// nginx in `dir` (its config, pid, logs and temporary files), serving the `servers` part of
/// an nginx config (server and upstream blocks, e.g. the shipped `config/proxies/nginx.conf`
/// with its ports rewritten), which must listen on `port`.
pub async fn start_nginx(dir: &Path, servers: &str, port: u16) -> Proc {
    std::fs::create_dir_all(dir).expect("nginx folder");
    let d = dir.display();
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n{servers}\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).expect("write nginx.conf");
    let mut nginx = Proc::spawn(
        "nginx",
        Command::new(tool("nginx"))
            .args(["-e", &format!("{d}/error.log"), "-p", &d.to_string(), "-c"])
            .arg(dir.join("nginx.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit()),
    );
    nginx.wait_for_port(port, Duration::from_secs(15)).await;
    // One process, no workers of its own: stopping it (on drop, even when a test fails) leaves
    // nothing running. A master's workers outlive a killed master.
    assert!(
        children_of(nginx.id()).is_empty(),
        "nginx runs as one process (master_process off)"
    );
    nginx
}

/// The processes whose parent is `pid`, from /proc.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|stat| {
                    // The fields after the command name (which may hold spaces) in parentheses.
                    let rest = stat.rsplit_once(')')?.1;
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}
