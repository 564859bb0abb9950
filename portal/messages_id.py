"""Indonesian text of the portal, keyed by the English the templates use.
Add a line here with every new English string; a missing one shows in English."""

MESSAGES = {
    "Helpdesk": "Layanan Bantuan",
    "Language": "Bahasa",
    "Log in": "Masuk",
    "Log out": "Keluar",
    "Email": "Email",
    "Password": "Kata sandi",
    "Page not found": "Halaman tidak ditemukan",
    "The page does not exist, or you may not see it.": "Halaman tidak ada, atau Anda tidak berhak melihatnya.",
    "Something went wrong on our side. Please try again in a moment.":
        "Terjadi kesalahan di pihak kami. Silakan coba lagi sebentar lagi.",
    "Skip to content": "Langsung ke isi",
    # The customer's side: the public form and the private ticket page.
    "Ask the helpdesk": "Tanya layanan bantuan",
    "Write your question below. We answer by email; the mail carries a private link to follow your ticket, with no account needed.":
        "Tuliskan pertanyaan Anda di bawah. Kami menjawab lewat email; email itu memuat tautan pribadi untuk mengikuti tiket Anda, tanpa perlu akun.",
    "Your name": "Nama Anda",
    "Your email address": "Alamat email Anda",
    "Our answer and the link to your ticket go to this address.": "Jawaban kami dan tautan ke tiket Anda dikirim ke alamat ini.",
    "School (optional)": "Sekolah (tidak wajib)",
    "Its code (for example S001) or its registered email address, if you write for a school.":
        "Kodenya (misalnya S001) atau alamat email terdaftarnya, jika Anda menulis atas nama sekolah.",
    "Topic": "Topik",
    "Choose a topic": "Pilih topik",
    "Subject": "Judul",
    "Your question or problem": "Pertanyaan atau masalah Anda",
    "Attachments (optional)": "Lampiran (tidak wajib)",
    "Screenshots, PDF or office documents: up to 10 files, {mb} MB each.":
        "Tangkapan layar, PDF atau dokumen kantor: paling banyak 10 berkas, masing-masing {mb} MB.",
    "Leave this field empty": "Kosongkan isian ini",
    "Send": "Kirim",
    "Please tell us your name.": "Mohon tuliskan nama Anda.",
    "Please give the address where we should answer.": "Mohon isi alamat email untuk jawaban kami.",
    "This does not look like an email address.": "Ini tidak tampak seperti alamat email.",
    "Please write a short subject.": "Mohon tuliskan judul singkat.",
    "Please describe your question or problem.": "Mohon jelaskan pertanyaan atau masalah Anda.",
    "Please write your reply.": "Mohon tuliskan balasan Anda.",
    "At most 10 files at once.": "Paling banyak 10 berkas sekaligus.",
    "Please correct the fields marked below.": "Mohon perbaiki isian yang ditandai di bawah.",
    "The form could not be sent.": "Formulir tidak dapat dikirim.",
    "The form could not be sent. If you are a person, leave the last field empty and try again.":
        "Formulir tidak dapat dikirim. Jika Anda manusia, kosongkan isian terakhir lalu coba lagi.",
    "That was very quick. Please check your message and send it again.":
        "Cepat sekali. Mohon periksa pesan Anda lalu kirim lagi.",
    "This form has expired or was already sent. Please check your message and send it again.":
        "Formulir ini kedaluwarsa atau sudah terkirim. Mohon periksa pesan Anda lalu kirim lagi.",
    "Too many tickets were sent from here in the last hour. Please wait an hour, or reply to the mail of a ticket you already have.":
        "Terlalu banyak tiket dikirim dari sini dalam satu jam terakhir. Mohon tunggu satu jam, atau balas email tiket yang sudah Anda miliki.",
    "Please include at most {n} links. Describe the page instead, or attach a screenshot.":
        "Mohon sertakan paling banyak {n} tautan. Jelaskan halamannya, atau lampirkan tangkapan layar.",
    "We do not know this school. Check its code or registered address, or leave it empty.":
        "Sekolah ini tidak kami kenal. Periksa kode atau alamat terdaftarnya, atau kosongkan.",
    "{name} was not accepted: {reason}.": "{name} tidak diterima: {reason}.",
    "For your safety, files are not kept when a form is refused: please choose them again.":
        "Demi keamanan, berkas tidak disimpan bila formulir ditolak: mohon pilih berkasnya lagi.",
    "Ticket sent": "Tiket terkirim",
    "Thank you: your ticket is in": "Terima kasih: tiket Anda sudah kami terima",
    "Your ticket reference is": "Nomor tiket Anda adalah",
    "We have sent a confirmation to {email}. It carries a private link where you can follow the ticket, add files and reply.":
        "Kami telah mengirim konfirmasi ke {email}. Isinya tautan pribadi untuk mengikuti tiket, menambah berkas, dan membalas.",
    "No mail within a few minutes? Look in your spam folder. To add something, reply to that mail or use its link.":
        "Belum ada email dalam beberapa menit? Periksa folder spam. Untuk menambahkan sesuatu, balas email itu atau buka tautannya.",
    "Ask another question": "Ajukan pertanyaan lain",
    "Status": "Status",
    "Handled by": "Ditangani oleh",
    "Opened": "Dibuka",
    "Waiting for the helpdesk": "Menunggu layanan bantuan",
    "Answered: waiting for you": "Sudah dijawab: menunggu Anda",
    "On hold": "Ditunda",
    "Passed to a higher office": "Diteruskan ke kantor di atasnya",
    "Closed": "Selesai",
    "Did our answer solve your problem?": "Apakah jawaban kami menyelesaikan masalah Anda?",
    "Yes, this solved it": "Ya, masalah selesai",
    "No, it is still a problem": "Belum, masih bermasalah",
    "Messages": "Pesan",
    "not kept": "tidak disimpan",
    "Reply": "Balas",
    "Your reply": "Balasan Anda",
    "Send reply": "Kirim balasan",
    "This ticket is closed. Writing here opens it again.": "Tiket ini sudah selesai. Menulis di sini membukanya kembali.",
    "Thank you: your reply was added.": "Terima kasih: balasan Anda sudah ditambahkan.",
    "Your earlier ticket was closed, so your message opened this new ticket ({ref}).":
        "Tiket Anda sebelumnya sudah ditutup, jadi pesan Anda membuka tiket baru ini ({ref}).",
    "Thank you. We are glad it is solved; the ticket is now closed.":
        "Terima kasih. Kami senang masalahnya selesai; tiket kini ditutup.",
    "Sorry it is not solved yet. The ticket is open again: tell us below what is still wrong.":
        "Maaf, masalahnya belum selesai. Tiket dibuka kembali: ceritakan di bawah apa yang masih salah.",
}
