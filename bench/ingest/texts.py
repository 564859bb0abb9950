"""Words the corpus generator draws from: places, people, complaints.

Kept apart from mailgen.py so the generator reads as the shape of a mail and
this file as its content. The non-ASCII lists use only Latin-1 letters (the
Javanese é, è, ê, å spellings), so any of them can be written as ISO-8859-1;
UTF_ONLY holds what Latin-1 cannot carry.
"""

PROVINCE = ("JTG", "Provinsi Jawa Tengah")

CITIES = [
    ("JTG-SMG", "Kota Semarang", ["Tembalang", "Banyumanik", "Candisari", "Gayamsari"]),
    ("JTG-SKA", "Kota Surakarta", ["Laweyan", "Jebres", "Pasar Kliwon", "Banjarsari"]),
    ("JTG-MGL", "Kabupaten Magelang", ["Mertoyudan", "Muntilan", "Borobudur", "Salaman"]),
    ("JTG-BYL", "Kabupaten Boyolali", ["Ampel", "Cepogo", "Selo", "Musuk"]),
    ("JTG-KDS", "Kabupaten Kudus", ["Jati", "Gebog", "Dawe", "Mejobo"]),
]

SCHOOL_KINDS = [("SD Negeri", "sdn"), ("SMP Negeri", "smpn"), ("SMA Negeri", "sman"),
                ("SMK Negeri", "smkn"), ("MI Muhammadiyah", "mim")]

NAMES_ASCII = ["Sri Rahayu", "Budi Santoso", "Agus Prasetyo", "Siti Aminah", "Dwi Lestari",
               "Eko Susanto", "Nur Hidayati", "Joko Widodo Saputro", "Rina Marlina",
               "Yusuf Hakim", "Wahyu Nugroho", "Endang Suryani"]

NAMES_ACCENTED = ["Déwi Sêkar Arum", "Bambang Sêtyadi", "Ratna Kusumawardhané",
                  "Gêndhis Ayu Pramêsti", "Darmå Wiryå", "Èni Suharti", "Sêno Aji Pangèstu",
                  "Rêtno Dumilah", "Suryå Hadiningrat", "Wêning Kinasih"]

TOPICS = [
    "Tidak bisa login ke aplikasi Dapodik",
    "Data siswa pindahan belum muncul",
    "Permohonan reset kata sandi operator sekolah",
    "Sinkronisasi gagal dengan kode 503",
    "Tunjangan profesi guru belum cair",
    "Rapor kelas {n} tidak bisa dicetak",
    "NISN ganda untuk siswa baru",
    "Perubahan data rombongan belajar",
    "Kuota internet bantuan belum diterima",
    "Akun belajar.id guru terkunci",
    "Dana BOS tahap {n} belum masuk rekening",
    "Jadwal asesmen nasional bentrok dengan ujian sekolah",
]

# Appended to a topic to make a subject non-ASCII; Latin-1 letters only.
ACCENTED_TAILS = ["(Sêmester gênap)", "untuk Bu Déwi", "– kelas {n}, Sêmarang",
                  "mohon bantuan, Pak Darmå", "sesuai surat édaran"]

# Only UTF-8 can carry these: an em dash, an ellipsis, Javanese script.
UTF_ONLY = ["— mohon segera …", "ꦱꦼꦏꦺꦴꦭꦃ", "“penting”", "— 🙏"]

SENTENCES = [
    "Sejak pagi kami tidak dapat masuk ke aplikasi meskipun kata sandi sudah benar.",
    "Kami sudah mencoba dari dua komputer yang berbeda dan hasilnya sama.",
    "Mohon petunjuk langkah yang harus kami lakukan.",
    "Batas waktu pelaporan adalah akhir minggu ini, sehingga kami khawatir terlambat.",
    "Operator sekolah kami baru saja berganti, jadi data akun lama mungkin belum diperbarui.",
    "Terlampir tangkapan layar pesan galat yang muncul.",
    "Nomor pokok sekolah kami tercantum di bawah.",
    "Kami mohon informasi apakah ada pembaruan aplikasi yang harus dipasang.",
    "Siswa yang bersangkutan sudah memiliki surat pindah dari sekolah asal.",
    "Terima kasih atas perhatian dan bantuannya.",
]

ACCENTED_SENTENCES = [
    "Kêpala sekolah sudah menandatangani surat pêrmohonan.",
    "Data sudah kami kirim lewat Pak Darmå di kantor dinas.",
    "Matur nuwun sangêt atas bantuanipun.",
]

REPLY_SENTENCES = [
    "Terima kasih, masalahnya masih terjadi sampai sekarang.",
    "Kami sudah mencoba saran tersebut tetapi belum berhasil.",
    "Berikut kami tambahkan keterangan yang diminta.",
    "Apakah ada perkembangan untuk laporan kami ini?",
    "Sekarang sudah bisa, terima kasih banyak.",
]

ATTACHMENTS = [
    ("Daftar_Nilai_Kelas_{n}.pdf", "application", "pdf", b"%PDF-1.4\n"),
    ("Tangkapan layar {n}.jpg", "image", "jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"),
    ("Rekap_Siswa_Sêmester_{n}.xlsx", "application",
     "vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK\x03\x04"),
    ("Surat Pêrmohonan {n}.docx", "application",
     "vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK\x03\x04"),
]
