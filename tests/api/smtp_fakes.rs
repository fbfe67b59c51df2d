//! SMTP servers that misbehave on purpose: one that can be switched off and on (in front of
//! maildev), and one that rejects every recipient permanently.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A port that refuses connections while down and relays to maildev while up.
pub struct SmtpSwitch {
    pub port: u16,
    up: Arc<AtomicBool>,
}

impl SmtpSwitch {
    pub async fn start_down(maildev_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(false));
        let flag = up.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    // Down: hang up before the greeting, as a dead server's port would.
                    drop(client);
                    continue;
                }
                tokio::spawn(async move {
                    if let Ok(mut server) =
                        tokio::net::TcpStream::connect(("127.0.0.1", maildev_port)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self { port, up }
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }
}

/// Answers like a mail server that knows no such mailbox: 550 to every RCPT TO.
pub async fn rejecting_smtp() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 reject.test ESMTP\r\n").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let answer: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250 reject.test\r\n"
                    } else if upper.starts_with("MAIL FROM")
                        || upper.starts_with("RSET")
                        || upper.starts_with("NOOP")
                    {
                        b"250 OK\r\n"
                    } else if upper.starts_with("RCPT TO") {
                        b"550 5.1.1 No such user here\r\n"
                    } else if upper.starts_with("QUIT") {
                        let _ = write.write_all(b"221 Bye\r\n").await;
                        break;
                    } else {
                        b"503 5.5.1 Bad sequence of commands\r\n"
                    };
                    if write.write_all(answer).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}
