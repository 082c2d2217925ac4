/* A tiny HTTP server: answers every request with "hello from hellod", logs each one, and
 * logs "got SIGTERM" before a clean exit. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Log and leave from the handler itself (write and _exit are async-signal-safe): a flag checked
 * in the accept loop would miss a signal that lands just before accept() blocks. */
static void on_term(int sig) {
    static const char msg[] = "got SIGTERM, shutting down\n";
    (void)sig;
    (void)!write(STDOUT_FILENO, msg, sizeof msg - 1);
    _exit(0);
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 8080;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    int srv = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(srv, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(srv, 16) < 0) {
        perror("hellod");
        return 1;
    }
    printf("hellod listening on %d\n", port);
    for (;;) {
        int c = accept(srv, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR) continue;
            perror("accept");
            return 1;
        }
        /* Read the whole request head: closing with unread bytes would reset the connection. */
        char buf[1024];
        size_t used = 0;
        buf[0] = '\0';
        while (used < sizeof buf - 1 && !strstr(buf, "\r\n\r\n")) {
            ssize_t n = read(c, buf + used, sizeof buf - 1 - used);
            if (n <= 0) break;
            used += (size_t)n;
            buf[used] = '\0';
        }
        const char *body = "hello from hellod\n";
        char head[128];
        int len = snprintf(head, sizeof head,
                           "HTTP/1.0 200 OK\r\nContent-Length: %zu\r\n\r\n", strlen(body));
        (void)!write(c, head, len);
        (void)!write(c, body, strlen(body));
        close(c);
        printf("served %.*s\n", (int)strcspn(buf, "\r\n"), buf);
    }
}
