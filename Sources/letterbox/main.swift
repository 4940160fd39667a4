import Dispatch

// The entry point. Not `@main` on an AsyncParsableCommand: an async main hands the main thread to dispatch_main(),
// which on Linux calls pthread_exit() and traps the exiting thread in sigsuspend() for good — alive, with every signal
// unblocked, and skipped by glibc's set*id broadcast (it passes over exiting threads). After a switch to `[server] user`
// that one thread would keep root's credentials, a way back to root for anyone who took over the process. Here the main
// thread stays an ordinary live thread, waiting on a semaphore, so the switch reaches it like every other thread.
let finished = DispatchSemaphore(value: 0)
Task.detached {
    await Letterbox.main()
    finished.signal()
}
finished.wait()
